// The group leader's partition assignment, for both protocols the adapter offers. Sticky: a member
// keeps what it owned up to its fair share. Balanced: every member gets ⌊n/m⌋ or ⌈n/m⌉ partitions (the
// library's own cooperative-sticky assignor, 2.12.1, leaves a new member idle when the others hold
// exactly ⌈n/m⌉ each, e.g. 6 partitions over 3 → 4 members). Cooperative: a partition moving from one
// member to another is first only taken away; its owner drains, commits and rejoins, and the next round
// hands it on. Under the eager protocol members report no owned partitions and this is a plain
// balanced assignment.
import type { ClusterMetadata, ExtendedGroupProtocolSubscription, GroupAssignment, GroupPartitionsAssignments } from '@platformatic/kafka';

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export function stickyBalancedAssignor(
  _leader: string,
  members: Map<string, ExtendedGroupProtocolSubscription>,
  topics: Set<string>,
  metadata: ClusterMetadata,
): GroupPartitionsAssignments[] {
  const ids = [...members.keys()].sort();
  // Every partition of the subscribed topics (each member is subscribed to the same topics: one route).
  const all: Array<{ topic: string; partition: number }> = [];
  for (const topic of [...topics].sort()) {
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    for (let partition = 0; partition < count; partition++) all.push({ topic, partition });
  }
  // Previous owners: the claim of the highest generation; two claims of one generation trust neither.
  const claims = new Map<string, Array<{ id: string; generation: number }>>();
  for (const id of ids) {
    const m = members.get(id)!;
    for (const owned of m.ownedPartitions ?? []) {
      for (const partition of owned.partitions) {
        const k = key(owned.topic, partition);
        claims.set(k, [...(claims.get(k) ?? []), { id, generation: m.generationId ?? -1 }]);
      }
    }
  }
  const owner = new Map<string, string>();
  for (const [k, cs] of claims) {
    const top = Math.max(...cs.map((c) => c.generation));
    const best = cs.filter((c) => c.generation === top);
    if (best.length === 1) owner.set(k, best[0]!.id);
  }
  // Fair shares: the members owning the most get the larger share first (they keep more).
  const owns = (id: string) => all.filter((p) => owner.get(key(p.topic, p.partition)) === id);
  const byOwned = [...ids].sort((a, b) => owns(b).length - owns(a).length || a.localeCompare(b));
  const base = ids.length === 0 ? 0 : Math.floor(all.length / ids.length);
  const extra = ids.length === 0 ? 0 : all.length % ids.length;
  const share = new Map(byOwned.map((id, i) => [id, base + (i < extra ? 1 : 0)]));
  const assigned = new Map<string, Array<{ topic: string; partition: number }>>(ids.map((id) => [id, []]));
  const placed = new Set<string>();
  for (const id of byOwned) {
    for (const p of owns(id).slice(0, share.get(id))) {
      assigned.get(id)!.push(p);
      placed.add(key(p.topic, p.partition));
    }
  }
  // The rest to whoever is below its share, the emptiest first.
  for (const p of all) {
    if (placed.has(key(p.topic, p.partition))) continue;
    const to = byOwned.filter((id) => assigned.get(id)!.length < share.get(id)!).sort((a, b) => assigned.get(a)!.length - assigned.get(b)!.length)[0];
    if (to === undefined) continue;
    // Cooperative: a partition another member still owns is only taken away this round.
    const previous = owner.get(key(p.topic, p.partition));
    if (previous !== undefined && previous !== to) continue;
    assigned.get(to)!.push(p);
  }
  return ids.map((memberId) => {
    const byTopic = new Map<string, GroupAssignment>();
    for (const { topic, partition } of assigned.get(memberId)!) {
      const a = byTopic.get(topic) ?? { topic, partitions: [] };
      a.partitions.push(partition);
      byTopic.set(topic, a);
    }
    return { memberId, assignments: byTopic };
  });
}
