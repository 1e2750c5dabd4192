/**
 * The fault suite's sink peers, one registry. Adding a sink peer = one definition file in this folder
 * (a SinkPeer, see define.ts) + one line in SINK_PEERS below; nothing else: FaultPeers, SinkName,
 * ALL_SINKS, SINK_KIND and the typed accessors (fault().hec…) all follow from this list.
 * The order is the order of ALL_SINKS (the scenarios' default, and the order of an instance's SINKS).
 */
import { hecPeer } from './hec.ts';
import { syslogPeer } from './syslog.ts';
import { sqsPeer } from './sqs.ts';
import { s3Peer } from './s3.ts';
import { formPeer } from './form.ts';

export const SINK_PEERS = [
  hecPeer,
  syslogPeer,
  sqsPeer,
  s3Peer,
  formPeer,
] as const;

type Definition = (typeof SINK_PEERS)[number];
export type SinkName = Definition['name'];
/** A started peer of sink `N`, with what its definition adds (HEC's token, S3's bucket). */
export type StartedPeerOf<N extends SinkName> = Awaited<ReturnType<Extract<Definition, { name: N }>['start']>>;
/** The peer a scenario reaches as `peers[N]` (HecProcess, RsyslogPeer, ElasticMqPeer, MinioPeer, FormReceiverProcess). */
export type PeerOf<N extends SinkName> = StartedPeerOf<N>['peer'];

export const ALL_SINKS: readonly SinkName[] = SINK_PEERS.map((d) => d.name);

/** The SINKS name of each, which is also the `logstream.sink` header of its dead letters. */
export const SINK_KIND = Object.fromEntries(SINK_PEERS.map((d) => [d.name, d.kind])) as Record<SinkName, string>;

export function sinkPeer(name: SinkName): Definition {
  const d = SINK_PEERS.find((x) => x.name === name);
  if (!d) throw new Error(`no sink peer '${name}' (the registry: ${ALL_SINKS.join(', ')})`);
  return d;
}
