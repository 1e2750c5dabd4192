/** The query language: public surface used by the pipeline, the daemon and the CLI. */
export type { QueryMeta, CompiledQuery, CompileOptions, Summaries, SummaryTarget } from './types.ts';
export { compileQuery, compileExpression } from './compile.ts';
export { QueryError, QueryRuntimeError } from './errors.ts';
export { ALL_FUNCTIONS } from './functions/index.ts';
export { DROP_REASONS, type DropReason, type QueryCounts, type QueryStats } from './stats.ts';
export type { Lookups, LookupTable, LookupContents } from './lookups.ts';
export type { GeoIp, GeoIpResult } from './geoip.ts';
