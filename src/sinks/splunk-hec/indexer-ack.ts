// Splunk indexer acknowledgement: a batch accepted by HEC (ackId N on our channel) counts as delivered
// only once /services/collector/ack says N is indexed. A `true` is reported once, so it is recorded at
// once. A batch whose ack does not come within the timeout is sent again. Pending acks are capped:
// past the cap, sending waits (backpressure).
import type { Pool } from 'undici';
import { retriable } from '../../core/errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { oneLine } from '../../core/errors.ts';

export interface AckTarget {
  readonly pool: Pool;
  ackPath: string;
  /** The load balancer's cookie for this target, kept for stickiness (set by the transport). */
  cookie: string | undefined;
}

interface Pending {
  readonly target: AckTarget;
  readonly sentAt: number;
  readonly resolve: (indexed: boolean) => void;
}

export interface IndexerAckOptions {
  channel: string;
  authorization: () => string;
  pollIntervalMs: number;
  timeoutMs: number;
  maxPending: number;
  logger: Logger;
}

export class IndexerAcks {
  readonly #o: IndexerAckOptions;
  readonly #pending = new Map<AckTarget, Map<number, Pending>>();
  #count = 0;
  #timer: NodeJS.Timeout | undefined;
  #polling = false;
  #roomWaiters: Array<() => void> = [];

  constructor(o: IndexerAckOptions) {
    this.#o = o;
  }

  get pending(): number {
    return this.#count;
  }

  /** Waits until fewer than the cap are pending. */
  async room(signal: AbortSignal): Promise<void> {
    while (this.#count >= this.#o.maxPending && !signal.aborted) {
      await new Promise<void>((resolve) => {
        this.#roomWaiters.push(resolve);
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
  }

  /** Resolves true when `ackId` on `target` is indexed, false when the ack timeout passes. */
  wait(target: AckTarget, ackId: number): Promise<boolean> {
    return new Promise((resolve) => {
      let byId = this.#pending.get(target);
      if (!byId) this.#pending.set(target, (byId = new Map()));
      byId.set(ackId, { target, sentAt: Date.now(), resolve });
      this.#count++;
      this.#timer ??= setInterval(() => void this.#poll(), this.#o.pollIntervalMs);
    });
  }

  #settle(byId: Map<number, Pending>, id: number, indexed: boolean): void {
    const p = byId.get(id);
    if (!p) return;
    byId.delete(id);
    this.#count--;
    p.resolve(indexed);
    const ws = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const w of ws) w();
  }

  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      for (const [target, byId] of this.#pending) {
        if (byId.size === 0) continue;
        const now = Date.now();
        for (const [id, p] of byId) if (now - p.sentAt > this.#o.timeoutMs) this.#settle(byId, id, false);
        const ids = [...byId.keys()];
        if (ids.length === 0) continue;
        try {
          const headers: Record<string, string> = {
            authorization: this.#o.authorization(),
            'content-type': 'application/json',
            'x-splunk-request-channel': this.#o.channel,
          };
          if (target.cookie) headers.cookie = target.cookie;
          const res = await target.pool.request({ method: 'POST', path: `${target.ackPath}?channel=${this.#o.channel}`, headers, body: JSON.stringify({ acks: ids }), signal: AbortSignal.timeout(10_000) });
          const text = await res.body.text();
          if (res.statusCode !== 200) throw retriable(`HEC_ACK_HTTP_${res.statusCode}`, oneLine(text, 200));
          const acks = (JSON.parse(text) as { acks?: Record<string, boolean> }).acks ?? {};
          for (const [id, indexed] of Object.entries(acks)) if (indexed === true) this.#settle(byId, Number(id), true);
        } catch (err) {
          this.#o.logger.warn(`indexer acknowledgement poll failed (will poll again): ${oneLine(String((err as Error).message))}`);
        }
      }
      if (this.#count === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    } finally {
      this.#polling = false;
    }
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const byId of this.#pending.values()) for (const id of [...byId.keys()]) this.#settle(byId, id, false);
  }
}
