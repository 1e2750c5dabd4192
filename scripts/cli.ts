// What every script's command line shares: messages to stderr, results (KEY=value lines, paths) to
// stdout, a port argument checked the same way everywhere, and the run-main-and-exit tail.
import { writeSync } from 'node:fs';

/** A message for the person at the terminal (stderr, unbuffered: it survives process.exit). */
export function err(line: string): void {
  writeSync(2, `${line}\n`);
}

/** A result for the calling script (stdout). */
export function out(line: string): void {
  writeSync(1, `${line}\n`);
}

/** `--<name>` as a TCP port number, or undefined when it was not given. */
export function portArg(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!(Number.isInteger(n) && n > 0 && n < 65536)) throw new Error(`--${name} must be a port number, got ${JSON.stringify(raw)}`);
  return n;
}

/** Runs `main` with the command-line arguments and exits with its code; an error is printed (its
 *  message only) and exits 1. */
export function runMain(main: (argv: string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      err(e instanceof Error ? e.message : String(e));
      process.exit(1);
    },
  );
}
