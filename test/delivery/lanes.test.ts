// The dispatcher alone: one batch per key in flight, in order, within the concurrency slots.
import { describe, expect, it } from 'vitest';
import { Lanes } from '../../src/delivery/lanes.ts';

/** A sender whose sends finish when the test says so. */
function setup(concurrency: number) {
  const sending: Array<{ key: string; batch: string; finish: () => void }> = [];
  const sent: string[] = [];
  const events: string[] = [];
  const lanes = new Lanes<string>(concurrency, (key, batch) => new Promise<void>((resolve) => {
    sent.push(batch);
    sending.push({ key, batch, finish: resolve });
  }), {
    emptied: (key) => events.push(`emptied ${key}`),
    finished: () => events.push('finished'),
  });
  const finish = async (batch: string) => {
    const i = sending.findIndex((s) => s.batch === batch);
    if (i < 0) throw new Error(`${batch} is not being sent`);
    sending.splice(i, 1)[0]!.finish();
    await new Promise((r) => setImmediate(r));
  };
  return { lanes, sending, sent, events, finish };
}

describe('Lanes', () => {
  it('sends one batch per key at a time, in the order sealed', async () => {
    const { lanes, sent, finish } = setup(8);
    lanes.enqueue('p0', 'p0-1');
    lanes.enqueue('p0', 'p0-2');
    lanes.enqueue('p0', 'p0-3');
    expect(sent).toEqual(['p0-1']);
    expect(lanes.busy('p0')).toBe(true);
    await finish('p0-1');
    expect(sent).toEqual(['p0-1', 'p0-2']);
    await finish('p0-2');
    await finish('p0-3');
    expect(sent).toEqual(['p0-1', 'p0-2', 'p0-3']);
    expect(lanes.busy('p0')).toBe(false);
  });

  it('keys go in parallel up to the concurrency; a waiting key takes the next free slot, oldest first', async () => {
    const { lanes, sent, finish } = setup(2);
    lanes.enqueue('a', 'a1');
    lanes.enqueue('b', 'b1');
    lanes.enqueue('c', 'c1');
    lanes.enqueue('d', 'd1');
    lanes.enqueue('a', 'a2');
    expect(sent).toEqual(['a1', 'b1']);
    expect(lanes.busy('c')).toBe(true); // queued counts as busy
    await finish('b1');
    expect(sent).toEqual(['a1', 'b1', 'c1']);
    await finish('a1'); // a2 queues behind d, which waited longer
    expect(sent).toEqual(['a1', 'b1', 'c1', 'd1']);
    await finish('c1');
    expect(sent.at(-1)).toBe('a2');
  });

  it('reports a lane that emptied before the batch that finished it', async () => {
    const { lanes, events, finish } = setup(4);
    lanes.enqueue('k', 'k1');
    lanes.enqueue('k', 'k2');
    await finish('k1');
    expect(events).toEqual(['finished']); // k2 still to go: the lane stays
    await finish('k2');
    expect(events).toEqual(['finished', 'emptied k', 'finished']);
  });

  it('a batch enqueued from emptied() (what the batcher held back) waits behind keys that waited longer', async () => {
    const sent: string[] = [];
    const finishers: Array<() => void> = [];
    let refill = true;
    const lanes: Lanes<string> = new Lanes<string>(1, (_key, batch) => new Promise<void>((resolve) => {
      sent.push(batch);
      finishers.push(resolve);
    }), {
      emptied: (key) => {
        if (refill) lanes.enqueue(key, `${key}-held`);
        refill = false;
      },
      finished: () => {},
    });
    lanes.enqueue('k', 'k1');
    lanes.enqueue('j', 'j1');
    finishers.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual(['k1', 'j1']);
    finishers.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual(['k1', 'j1', 'k-held']);
  });
});
