// "Run again if asked while running": a trigger while `fn` runs asks for one more run
// after it ends, and any number of such triggers collapse into that one run. For work
// whose every run sees the latest state (claim until the slots are full, sync what
// changed), so a request made mid-run must not be lost, yet need not queue up.

/**
 * Returns a trigger. Each trigger's promise resolves once a run that began after the
 * trigger (or the run it joined) has ended; it never rejects: `fn`'s errors go to
 * `onError`, and the next trigger runs `fn` again.
 */
export function coalesced(fn: () => Promise<void>, onError: (err: unknown) => void): () => Promise<void> {
  let busy = false; // a flag, not the promise: a run that ends without awaiting must not leave it set
  let current: Promise<void> = Promise.resolve();
  let again = false;

  async function loop(): Promise<void> {
    try {
      do {
        again = false;
        try {
          await fn();
        } catch (err) {
          onError(err);
        }
      } while (again);
    } finally {
      // Cleared in the same tick as the last look at `again`: a trigger after it starts a new run.
      busy = false;
    }
  }

  return () => {
    if (busy) {
      again = true;
      return current;
    }
    busy = true;
    current = loop();
    return current;
  };
}
