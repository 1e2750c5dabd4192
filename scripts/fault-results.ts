// The format of the fault suite's results file (.cache/faults/results.jsonl): one line per scenario,
// written by the scenarios (test/faults/support/fault-run.ts) and tabulated by faults-summary.ts.
// It is defined here, beside its reader, so that scripts depend on nothing under test/.

/** One sink's reckoning in a scenario. */
export interface SinkTallyLine {
  sink: string;
  /** The route that ships to this sink (routed runs). */
  route?: string;
  expected: number;
  delivered: number;
  deadLettered: number;
  lost: number;
  dup: number;
  altered: number;
}

export interface FaultResultLine {
  scenario: string;
  full: boolean;
  at: string;
  durationS: number;
  produced: number;
  inTopic: number;
  instances: number;
  partitions: number;
  sinks: SinkTallyLine[];
  lost: number;
  dup: number;
  altered: number;
  dupBound: number;
  secretsFound: string[];
  pass: boolean;
  note?: string;
}
