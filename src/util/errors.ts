// Exit codes are a public interface (README "Exit codes"); scripts branch on them.
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  NOT_RUNNING: 3,
  CANCELLED: 130,
  UNAVAILABLE: 69,
  CONFIG: 78,
} as const;

/** An error the user can act on: printed as one line, never with a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.FAILURE,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** Bad configuration (file, env var or flag): exit 78 (EX_CONFIG). */
export class ConfigError extends CliError {
  constructor(message: string) {
    super(message, EXIT.CONFIG);
    this.name = "ConfigError";
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
