#!/usr/bin/env node
// Process entry: dispatches the command line. Exit codes: 0 ok, 1 runtime failure, 2 bad configuration,
// query or usage.
import { ConfigError } from './core/errors.ts';

const USAGE = `usage: logstream <command>

commands:
  run                  consume the Kafka group and ship records to the configured sinks (default)
  check-config         validate the environment and print the resolved configuration (secrets masked)
  query '<spl>'        run a query over JSON lines on stdin (--file q.spl to read it from a file)
  webhook new-key [p]  print a new webhook key and the hash to put in WEBHOOK_KEYS
  routes [status|pause NAME|resume NAME]
                       each route's state, group and lag; pause or resume one route on every instance
  reset-offsets --group G | --route NAME --to <time|earliest|latest|group:ID> [--topic T]... [--dry-run]
                       move a group's committed offsets (replay from a time); --route pauses the
                       route on a running deployment, moves them and resumes it
  dead-letters replay --route NAME [--since T] [--until T] [--code C] [--sink S] [--dry-run]
                       re-inject a route's dead letters (for that route and sink only) once fixed
  verify s3 [--key K]... [--since T] [--until T] [--json]
  verify file [PATH]... [--key K]... [--since T] [--until T] [--json]
                       prove the S3 archive (S3_MANIFEST_SIGNING_KEY) or the files of file sinks
                       (FILE_MANIFEST_SIGNING_KEY; each pod's FILE_PATH) complete and unchanged from
                       their signed manifests; exit 0 only when they are
  s3 test              write a test object to <S3_PREFIX>/test in S3_BUCKET (the Log Stream "Test" button)
  help                 this text

Configuration comes from environment variables: see docs/configuration.md (logstream check-config prints what it resolved).
`;

function isUserError(err: unknown): err is Error & { code?: string } {
  const code = (err as { code?: unknown })?.code;
  return err instanceof ConfigError || code === 'QUERY_SYNTAX' || code === 'QUERY_CHECK';
}

async function main(argv: string[]): Promise<number | undefined> {
  const [command = 'run', ...rest] = argv;
  switch (command) {
    case 'run': {
      const { runCommand } = await import('./cli/run.ts');
      await runCommand(process.env);
      return undefined; // keeps running; exits via signals
    }
    case 'check-config': {
      const { checkConfigCommand } = await import('./cli/check-config.ts');
      checkConfigCommand(process.env, process.stdout, process.stderr);
      return 0;
    }
    case 'query': {
      const { queryCommand } = await import('./cli/query.ts');
      return queryCommand(rest, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env });
    }
    case 'webhook': {
      const { webhookCommand } = await import('./cli/webhook.ts');
      return webhookCommand(rest, process.stdout, process.stderr);
    }
    case 's3': {
      const { s3Command } = await import('./cli/s3.ts');
      return s3Command(rest, process.env, process.stdout, process.stderr);
    }
    case 'verify': {
      const { verifyCommand } = await import('./cli/verify.ts');
      return verifyCommand(rest, process.env, { stdout: process.stdout, stderr: process.stderr });
    }
    case 'routes': {
      const { routesCommand } = await import('./cli/routes.ts');
      return routesCommand(rest, process.env, { stdout: process.stdout, stderr: process.stderr });
    }
    case 'dead-letters': {
      const { deadLettersCommand } = await import('./cli/dead-letters.ts');
      return deadLettersCommand(rest, process.env, { stdout: process.stdout, stderr: process.stderr });
    }
    case 'reset-offsets': {
      const { resetOffsetsCommand } = await import('./cli/reset-offsets.ts');
      return resetOffsetsCommand(rest, process.env, { stdout: process.stdout, stderr: process.stderr });
    }
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`logstream: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    if (isUserError(err)) {
      process.stderr.write(`logstream: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`logstream: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
