// Keeps secrets out of logs, task output and results: the auth token plus the values of
// env vars whose names say they are secret (*_TOKEN, *_KEY, *_SECRET, *_PASSWORD), e.g.
// provider API keys that an agent might echo.

const SECRET_NAME = /_(TOKEN|KEY|SECRET|PASSWORD)$/i;
/** Too short to be a secret, and replacing them would garble ordinary text. */
const MIN_LENGTH = 4;
/** Flag-like values of such vars (SOME_KEY=true) are not secrets. */
const NOT_SECRET = new Set(["true", "false", "null", "none", "undefined"]);

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The values that `makeRedactor` hides, longest first (so a secret containing another is hidden whole). */
export function secretValues(secrets: (string | null | undefined)[], env: NodeJS.ProcessEnv = process.env): string[] {
  const values = new Set<string>();
  const add = (v: string | null | undefined) => {
    if (typeof v !== "string") return;
    const t = v.trim();
    if (t.length >= MIN_LENGTH && !NOT_SECRET.has(t.toLowerCase())) values.add(t);
  };
  for (const s of secrets) add(s);
  for (const [name, value] of Object.entries(env)) if (SECRET_NAME.test(name)) add(value);
  return [...values].sort((a, b) => b.length - a.length);
}

export function makeRedactor(secrets: (string | null | undefined)[], env: NodeJS.ProcessEnv = process.env): (s: string) => string {
  const values = secretValues(secrets, env);
  if (values.length === 0) return (s) => s;
  const re = new RegExp(values.map(escapeRegExp).join("|"), "g");
  return (s) => (typeof s === "string" && s.length >= MIN_LENGTH ? s.replace(re, "***") : s);
}

/** scheme://user:secret@host/... -> scheme://user:***@host/..., for messages (database and Redis URLs). */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@");
}
