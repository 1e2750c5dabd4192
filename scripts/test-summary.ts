// Prints one plain closing line for a vitest JSON report: `tests: N passed, N failed, N skipped`.
import { readFileSync } from 'node:fs';

const path = process.argv[2] ?? '.cache/test-results.json';
const r = JSON.parse(readFileSync(path, 'utf8')) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number };
process.stdout.write(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped\n`);
process.exitCode = r.numFailedTests > 0 || r.numPassedTests === 0 ? 1 : 0;
