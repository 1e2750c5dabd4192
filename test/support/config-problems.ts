// The problems a configuration error lists (each names its variable); fails when nothing was refused.
import { ConfigError } from '../../src/core/errors.ts';

export function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
