// Files named by configuration variables (TLS material), read at load so a wrong path fails at start.
import { readFileSync } from 'node:fs';

/** Reads the file named by variable `name`; a problem naming the variable is recorded instead of throwing. */
export function readConfiguredFile(name: string, path: string | undefined, problems: string[]): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    problems.push(`${name}: cannot read ${JSON.stringify(path)}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    return undefined;
  }
}
