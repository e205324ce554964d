// Killing an agent run completely. OpenCode 1.18's bash tool starts each command in a new
// session (setsid), so the command is not in OpenCode's process group, and OpenCode does
// not kill it when it gets SIGTERM: it would outlive a cancelled or timed-out task. So we
// walk the parent->child tree while OpenCode is still alive (once it dies its children
// are re-parented and can no longer be found) and signal every process and group in it.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

interface Proc {
  ppid: number;
  /** Start time (Linux clock ticks): tells a reused pid from the process we saw. */
  start: string;
}

/** Fields of /proc/<pid>/stat after the command name: "pid (comm) state ppid ...", comm may hold spaces and parens. */
function statFields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** The process's start time (Linux clock ticks since boot), or null when it is gone or there is no /proc. */
export function startTime(pid: number): string | null {
  try {
    return statFields(pid)[19] ?? null;
  } catch {
    return null;
  }
}

/** Every process we can see. */
function processTable(): Map<number, Proc> {
  const table = new Map<number, Proc>();
  if (process.platform === "linux") {
    try {
      for (const d of readdirSync("/proc")) {
        if (!/^\d+$/.test(d)) continue;
        try {
          const f = statFields(d);
          table.set(Number(d), { ppid: Number(f[1]), start: f[19] ?? "" });
        } catch {} // exited while we looked
      }
      return table;
    } catch {
      // /proc unreadable (a hardened container): ps below
    }
  }
  const r = spawnSync("ps", ["-A", "-o", "pid=,ppid="], { encoding: "utf8", timeout: 5000 });
  for (const line of (r.stdout ?? "").split("\n")) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (pid && ppid !== undefined && !Number.isNaN(ppid)) table.set(pid, { ppid, start: "" });
  }
  return table;
}

/** All descendants of the given pids (not the pids themselves), with their start times. */
export function descendants(roots: Iterable<number>, table = processTable()): Map<number, string> {
  const children = new Map<number, number[]>();
  for (const [pid, p] of table) children.set(p.ppid, [...(children.get(p.ppid) ?? []), pid]);
  const out = new Map<number, string>();
  const stack = [...roots];
  while (stack.length) {
    for (const c of children.get(stack.pop()!) ?? []) {
      if (!out.has(c)) {
        out.set(c, table.get(c)!.start);
        stack.push(c);
      }
    }
  }
  return out;
}

/** Signals each pid and, where it leads one, its process group; ignores the ones already gone. */
export function signalAll(pids: Iterable<number>, sig: NodeJS.Signals): void {
  for (const pid of pids) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, sig);
      } catch {} // ESRCH: gone or not a group leader
    }
  }
}

/**
 * A process tree to stop: `snapshot()` remembers the current descendants of the root
 * (call it before every signal), `signal()` hits the root's group and everything seen.
 */
export function processTree(rootPid: number) {
  const seen = new Map<number, string>();
  return {
    snapshot() {
      for (const [pid, start] of descendants([rootPid, ...seen.keys()])) seen.set(pid, start);
    },
    signal(sig: NodeJS.Signals) {
      // skip pids that died and were reused by an unrelated process since we saw them
      const now = process.platform === "linux" ? processTable() : null;
      const live = [...seen].filter(([pid, start]) => !now || now.get(pid)?.start === start).map(([pid]) => pid);
      signalAll([rootPid, ...live], sig);
    },
    get pids(): number[] {
      return [...seen.keys()];
    },
    /** Every descendant seen so far, with its start time. */
    get seen(): Map<number, string> {
      return new Map(seen);
    },
  };
}
