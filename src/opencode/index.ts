// Everything CodeTether knows about OpenCode, behind one narrow interface: the worker
// runs a task with it, session sync reads sessions through it, doctor probes with it.
// Nothing outside src/opencode/ imports the files beside this one.
export { findOpencode, opencodeInstallPlaces, opencodeNotFoundMessage } from "./bin.ts";
export { findProviders, opencodeVersion, PROVIDER_ENV_KEYS, type ProviderFinding } from "./doctor.ts";
export { killAllOpencode, runOpencode, type OpencodeResult, type OpencodeStatus, type RunOpencodeOptions } from "./run.ts";
export { opencodeModels, parseModelList, type ModelProbe } from "./models.ts";
export { opencodeReader } from "./sessions-db.ts";
export type { ExportedSession, SessionReader } from "./sessions-map.ts";
export { sessionStats, type SessionStats, type ToolStat } from "./sessions-map.ts";
export { renderLine, type Paint } from "./render.ts";
export { reapAgents, startWatchdog, type Watchdog } from "./agents.ts";
