// Synthetic security-log records for the benchmarks: StrongDM-style activity/query records as JSON
// lines, every line padded to the same byte size, deterministic (seeded) but varied. Half of them
// exactly-ish (high 30 % + critical 20 %) match `severity in ('high','critical')`.
import { openSync, writeSync, closeSync } from 'node:fs';
import { prng as rng } from '../../test/support/prng.ts';
export { rng };


const USERS = ['alice.martin', 'bob.nguyen', 'carol.schmidt', 'dave.okafor', 'erin.rossi', 'frank.li', 'grace.kim', 'heidi.novak', 'ivan.petrov', 'judy.garcia', 'svc-backup', 'svc-etl'];
const RESOURCES = [
  { id: 'rs-0a1b2c3d4e5f6789', name: 'prod-postgres-main', type: 'postgres', hostname: 'pg-main.prod.internal', port: 5432 },
  { id: 'rs-1b2c3d4e5f67890a', name: 'prod-mysql-billing', type: 'mysql', hostname: 'billing-db.prod.internal', port: 3306 },
  { id: 'rs-2c3d4e5f67890a1b', name: 'k8s-prod-eu-west-1', type: 'amazoneks', hostname: 'eks-eu.example.com', port: 443 },
  { id: 'rs-3d4e5f67890a1b2c', name: 'bastion-ssh-01', type: 'ssh', hostname: 'bastion-01.example.com', port: 22 },
  { id: 'rs-4e5f67890a1b2c3d', name: 'analytics-redshift', type: 'redshift', hostname: 'dw.example.com', port: 5439 },
  { id: 'rs-5f67890a1b2c3d4e', name: 'staging-mongo', type: 'mongo', hostname: 'mongo.staging.internal', port: 27017 },
];
const QUERIES = [
  'SELECT id, email, last_login FROM users WHERE last_login > now() - interval \'1 day\'',
  'UPDATE accounts SET balance = balance - 100 WHERE id = 4711',
  'DELETE FROM audit_log WHERE created_at < \'2023-01-01\'',
  'kubectl get secrets -n payments -o yaml',
  'sudo cat /etc/shadow',
  'SELECT * FROM credit_cards LIMIT 1000',
  'GRANT ALL PRIVILEGES ON DATABASE billing TO etl_user',
  'db.sessions.find({ expired: false }).limit(50)',
];
const TYPES = ['query', 'activity', 'session'];
const ACTIVITY_TYPES = ['user logged in', 'user logged out', 'resource accessed', 'role assigned', 'access request approved', 'query executed', 'port forward started', 'credential rotated'];
const APPS = ['strongdm', 'strongdm-gateway', 'sdm-relay'];
const CLIENTS = ['sdm-cli/37.1.0', 'sdm-desktop/2.9.4', 'psql/16.2', 'kubectl/1.29.3', 'OpenSSH_9.6'];

/** low 25 %, medium 25 %, high 30 %, critical 20 %. */
function severity(r: number): string {
  return r < 0.25 ? 'low' : r < 0.5 ? 'medium' : r < 0.8 ? 'high' : 'critical';
}

function pick<T>(list: readonly T[], r: number): T {
  return list[Math.floor(r * list.length)]!;
}

function uuid(next: () => number): string {
  const hex = (n: number): string => Math.floor(next() * 16 ** n).toString(16).padStart(n, '0');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(6)}${hex(6)}`;
}

const FILLER_WORDS = 'session audit trail forwarded by gateway relay with client certificate policy evaluation passed role based access control approved request ticket reviewer justification recorded for compliance retention SOC2 ISO27001 PCI-DSS evidence'.split(' ');

/** A long, varied text; padding is a window of it at a random offset. */
function makeFiller(next: () => number, length: number): string {
  const parts: string[] = [];
  let n = 0;
  while (n < length) {
    const w = pick(FILLER_WORDS, next());
    parts.push(w);
    n += w.length + 1;
  }
  return parts.join(' ');
}

export interface GeneratedRecord {
  line: string;
  matches: boolean;
}

/** One record of exactly `bytes` UTF-8 bytes (ASCII only), without the newline, when bytes >= ~600. */
export function makeRecordFactory(bytes: number, seed = 42): (i: number) => GeneratedRecord {
  const next = rng(seed);
  const filler = makeFiller(next, 64 * 1024);
  const t0 = Date.UTC(2025, 0, 1);
  return (i) => {
    const sev = severity(next());
    const res = pick(RESOURCES, next());
    const user = pick(USERS, next());
    const rec = {
      timestamp: new Date(t0 + i * 37 + Math.floor(next() * 30)).toISOString(),
      type: pick(TYPES, next()),
      uuid: uuid(next),
      userID: `a-${Math.floor(next() * 0xffffffff).toString(16).padStart(8, '0')}`,
      userName: user,
      userEmail: `${user}@example.com`,
      sourceIP: `10.${Math.floor(next() * 256)}.${Math.floor(next() * 256)}.${Math.floor(next() * 256)}`,
      resource: res,
      query: pick(QUERIES, next()),
      duration: Math.floor(next() * 5000),
      severity: sev,
      app: pick(APPS, next()),
      activityType: pick(ACTIVITY_TYPES, next()),
      clientVersion: pick(CLIENTS, next()),
      recordNumber: i,
      details: '',
    };
    // `details` is the last key and empty: pad inside its quotes (the filler needs no JSON escaping).
    const json = JSON.stringify(rec);
    const padLen = Math.max(0, bytes - json.length);
    const start = Math.floor(next() * (filler.length - padLen - 1));
    return { line: `${json.slice(0, -2)}${filler.slice(start, start + padLen)}"}`, matches: sev === 'high' || sev === 'critical' };
  };
}

export interface GeneratedFile {
  path: string;
  records: number;
  /** Sum of record value sizes (newlines excluded): what a consumer reads as values. */
  valueBytes: number;
  /** Records with severity high or critical. */
  highOrCritical: number;
}

/** Writes `records` JSON lines to `path` (truncating it). */
export function writeRecordsFile(path: string, records: number, recordBytes: number): GeneratedFile {
  const make = makeRecordFactory(recordBytes);
  const fd = openSync(path, 'w');
  let valueBytes = 0;
  let highOrCritical = 0;
  try {
    let chunk: string[] = [];
    let chunkBytes = 0;
    for (let i = 0; i < records; i++) {
      const r = make(i);
      chunk.push(r.line);
      valueBytes += r.line.length;
      chunkBytes += r.line.length + 1;
      if (r.matches) highOrCritical++;
      if (chunkBytes >= 8 * 1024 * 1024 || i === records - 1) {
        writeSync(fd, `${chunk.join('\n')}\n`);
        chunk = [];
        chunkBytes = 0;
      }
    }
  } finally {
    closeSync(fd);
  }
  return { path, records, valueBytes, highOrCritical };
}
