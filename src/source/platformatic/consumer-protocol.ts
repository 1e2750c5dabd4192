// Group membership under the consumer protocol (KIP-848, KAFKA_GROUP_PROTOCOL=consumer), kept here
// rather than in the library: the library acknowledges a revocation in the same heartbeat round that
// announced it, before the application could deliver and commit what it took from those partitions.
// Here a member reports in every ConsumerGroupHeartbeat the partitions it still owns, and gives one up
// only once the reconciler has drained and committed it — the broker hands it to another member only
// then. Partitions that do not move are never touched: there is no group-wide stop.
//
// The broker owns the timing: it answers each heartbeat with the interval to the next one, and a member
// that sends none for group.consumer.session.timeout.ms, or does not give up a revoked partition within
// its rebalance timeout, is fenced (its partitions move; it joins again at epoch 0).
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../telemetry/logger.ts';
import type { TopicPartitions } from '../kafka/interface.ts';
import { errorNames, isPermanent } from './errors.ts';
import { WakeableSleep } from './wakeable-sleep.ts';

/** One ConsumerGroupHeartbeat request (the library's API, on the group coordinator's connection). */
export type HeartbeatCall = (req: HeartbeatRequest) => Promise<HeartbeatAnswer>;

/** What the broker answers (the fields of the response this module reads). */
export interface HeartbeatAnswer {
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  /** The member's full assignment when it changed; null when it did not. */
  assignment: { topicPartitions: Array<{ topicId: string; partitions: number[] }> } | null;
}

export interface HeartbeatRequest {
  memberId: string;
  memberEpoch: number;
  /** Topic ids and partitions this member owns now. */
  owned: Array<{ topicId: string; partitions: number[] }>;
}

export interface MembershipHooks {
  /** The partitions this member is to own now (the broker's assignment). Gives up (drains, commits)
   *  what is not in it and takes what is new; resolves when that is done. */
  reconcile(target: TopicPartitions[]): Promise<void>;
  /** The member was fenced or forgotten: its partitions are another member's already. */
  lost(reason: string): Promise<void>;
  /** A heartbeat was answered: the membership is confirmed. */
  confirmed(): void;
  /** A refusal no retry mends (the group protocol unsupported, not authorised). */
  fatal(err: Error): void;
}

/** Answers after which the member joins again at epoch 0, its partitions gone. */
const FENCED = new Set(['FENCED_MEMBER_EPOCH', 'UNKNOWN_MEMBER_ID']);
/** The coordinator moved, is loading or not reachable: ask again (the connection is looked up anew). */
const COORDINATOR = new Set(['COORDINATOR_LOAD_IN_PROGRESS', 'COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR', 'REQUEST_TIMED_OUT', 'NETWORK_EXCEPTION']);
/** Refusals caused by a setting, each with what to change. Here and not in setting-errors.ts: in the
 *  answer to a heartbeat these names point at one setting; from other requests they need not. */
const FATAL = new Map<string, string>([
  ['UNSUPPORTED_VERSION', 'KAFKA_GROUP_PROTOCOL: the broker does not offer the consumer group protocol (KIP-848 needs Kafka ≥ 4.0 with group.coordinator.rebalance.protocols including consumer); use KAFKA_GROUP_PROTOCOL=classic'],
  ['INCONSISTENT_GROUP_PROTOCOL', 'KAFKA_GROUP_PROTOCOL: the group exists with members the broker cannot move to the consumer protocol (a protocol type other than consumer, or group.consumer.migration.policy forbids it); use a new KAFKA_GROUP_ID or KAFKA_GROUP_PROTOCOL=classic'],
  ['UNSUPPORTED_ASSIGNOR', 'KAFKA_GROUP_PROTOCOL: the broker has no such server-side assignor'],
  ['GROUP_AUTHORIZATION_FAILED', 'KAFKA_GROUP_ID: not authorised to join this group (the principal needs READ on the group)'],
  ['TOPIC_AUTHORIZATION_FAILED', 'KAFKA_TOPICS: not authorised to read a subscribed topic (the principal needs DESCRIBE and READ)'],
  ['GROUP_MAX_SIZE_REACHED', 'KAFKA_GROUP_ID: the group has as many members as the broker allows (group.consumer.max.size)'],
  ['INVALID_REQUEST', 'KAFKA_GROUP_PROTOCOL: the broker refused the membership request as invalid'],
]);
/** Epochs of a leaving member: -1 leaves for good, -2 (static member) keeps its assignment for the session timeout. */
const LEAVE = -1;
const LEAVE_STATIC = -2;

export class ConsumerProtocolMembership {
  readonly #send: HeartbeatCall;
  readonly #hooks: MembershipHooks;
  readonly #log: Logger;
  readonly #static: boolean;
  readonly #topicIds: () => Promise<Map<string, string>>;
  readonly #apiVersion: () => Promise<number>;
  memberId = '';
  memberEpoch = 0;
  /** The broker's heartbeat interval (its answer), until it has answered: 1 s. */
  intervalMs = 1000;
  /** What the member owns and reports, by topic id. */
  #owned: Array<{ topicId: string; partitions: number[] }> = [];
  /** The broker's latest assignment not yet reconciled (by topic id). */
  #target: Array<{ topicId: string; partitions: number[] }> | undefined;
  #reconciling: Promise<void> | undefined;
  #running = false;
  /** Times the member was fenced: an assignment from before is not retried. */
  #fencings = 0;
  /** leave() was called: nothing more is reconciled. */
  #left = false;
  #loop: Promise<void> | undefined;
  readonly #pause = new WakeableSleep();
  /** Version 1 of the API on: the member chooses its id (a UUID); on version 0 the broker does. */
  #clientMemberId = true;

  constructor(o: { send: HeartbeatCall; apiVersion: () => Promise<number>; hooks: MembershipHooks; logger: Logger; isStatic: boolean; topicIds: () => Promise<Map<string, string>> }) {
    this.#apiVersion = o.apiVersion;
    this.#send = o.send;
    this.#hooks = o.hooks;
    this.#log = o.logger;
    this.#static = o.isStatic;
    this.#topicIds = o.topicIds;
  }

  /** Joins (first heartbeat, retried while the coordinator is not ready) and keeps heartbeating. */
  async join(attempts = 10): Promise<void> {
    let held = false;
    for (let attempt = 1; ; attempt++) {
      try {
        this.#clientMemberId = (await this.#apiVersion()) >= 1;
        await this.#beat();
        break;
      } catch (err) {
        const why = this.#fatal(err);
        if (why) throw why;
        // (The library marks UNRELEASED_INSTANCE_ID as not retriable: it is asked for first.)
        if (errorNames(err).includes('UNRELEASED_INSTANCE_ID')) {
          // Restarted after a kill -9: the previous run holds the instance id until its session expires
          // (group.consumer.session.timeout.ms); waiting it out is the only way in.
          if (!held) this.#log.warn('consumer group: KAFKA_GROUP_INSTANCE_ID is still held by this instance\'s previous run until its session expires; waiting');
          held = true;
          attempt = 0;
        } else if (attempt >= attempts || isPermanent(err)) throw err;
        await sleep(Math.min(5000, 250 * 2 ** Math.max(1, attempt)));
      }
    }
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Sends the next heartbeat now (after a reconciliation, to report what the member owns). */
  beatNow(): void {
    this.#pause.wake();
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (this.#running) {
      await this.#pause.sleep(failures === 0 ? this.intervalMs : Math.min(this.intervalMs, 250 * 2 ** Math.min(failures, 4)));
      if (!this.#running) break;
      try {
        await this.#beat();
        failures = 0;
      } catch (err) {
        failures++;
        const fatal = this.#fatal(err);
        if (fatal) {
          this.#running = false;
          this.#hooks.fatal(fatal);
          return;
        }
        const names = errorNames(err);
        if (names.some((n) => FENCED.has(n))) {
          this.#log.warn({ memberEpoch: this.memberEpoch, error: names.find((n) => FENCED.has(n)) }, 'consumer group: this member was fenced (its session or rebalance timeout passed); its partitions are another member\'s now; joining again');
          await this.#loseAll(names.find((n) => FENCED.has(n))!);
          failures = 0;
        } else if (names.includes('UNRELEASED_INSTANCE_ID')) {
          // A static member that did not leave (kill -9): its previous incarnation holds the instance id
          // until its session expires.
          this.#log[failures === 1 ? 'warn' : 'debug']({ attempt: failures }, 'consumer group: KAFKA_GROUP_INSTANCE_ID is still held by this instance\'s previous run until its session expires; retrying');
        } else if (names.some((n) => COORDINATOR.has(n)) || !isPermanent(err)) {
          this.#log[failures === 1 ? 'warn' : 'debug']({ attempt: failures, err: String((err as Error)?.message ?? err) }, 'consumer group heartbeat failed; retrying');
        } else {
          this.#running = false;
          this.#hooks.fatal(err instanceof Error ? err : new Error(String(err)));
          return;
        }
      }
    }
  }

  async #beat(): Promise<void> {
    if (this.memberEpoch === 0 && !this.memberId && this.#clientMemberId) this.memberId = randomUUID();
    const res = await this.#send({ memberId: this.memberId, memberEpoch: this.memberEpoch, owned: this.#owned });
    if (res.memberId) this.memberId = res.memberId;
    this.memberEpoch = res.memberEpoch;
    if (res.heartbeatIntervalMs > 0) this.intervalMs = res.heartbeatIntervalMs;
    this.#hooks.confirmed();
    if (res.assignment) {
      this.#target = res.assignment.topicPartitions.map((t) => ({ topicId: t.topicId, partitions: [...t.partitions].sort((a, b) => a - b) }));
      this.#reconcileLatest();
    }
  }

  /** Reconciles the latest target; one at a time (heartbeats go on meanwhile, reporting the partitions still held). */
  #reconcileLatest(): void {
    if (this.#reconciling) return;
    this.#reconciling = (async () => {
      while (this.#target && !this.#left) {
        const target = this.#target;
        const fencings = this.#fencings;
        this.#target = undefined;
        try {
          await this.#hooks.reconcile(await this.#namesOf(target));
          this.#owned = target;
          this.beatNow();
        } catch (err) {
          // (The topic ids could not be looked up, or one is not in the metadata yet.) Tried again: the
          // broker sends an assignment only when it changes, so this one must not be dropped.
          if (fencings === this.#fencings) this.#target ??= target;
          this.#log.warn({ err: String((err as Error)?.message ?? err) }, 'consumer group: reconciling the assignment failed; retrying in 1 s');
          await sleep(1000);
        }
      }
    })().finally(() => {
      this.#reconciling = undefined;
    });
  }

  /** The assignment by topic name; throws while a topic id is not in the cluster metadata. */
  async #namesOf(target: Array<{ topicId: string; partitions: number[] }>): Promise<TopicPartitions[]> {
    const names = new Map([...(await this.#topicIds())].map(([name, id]) => [id, name]));
    return target.map((t) => {
      const topic = names.get(t.topicId);
      if (topic === undefined) throw new Error(`topic id ${t.topicId} of the assignment is not in the cluster metadata yet`);
      return { topic, partitions: t.partitions };
    });
  }

  async #loseAll(reason: string): Promise<void> {
    this.#fencings++;
    this.#target = undefined;
    await this.#reconciling;
    this.#owned = [];
    this.memberEpoch = 0;
    await this.#hooks.lost(reason);
  }

  /** The setting-naming error for a refusal no retry mends; undefined for anything else. */
  #fatal(err: unknown): Error | undefined {
    const names = errorNames(err);
    if (/Unsupported API ConsumerGroupHeartbeat|No usable implementation found for API ConsumerGroupHeartbeat/.test(String((err as Error)?.message))) names.push('UNSUPPORTED_VERSION');
    const name = names.find((n) => FATAL.has(n));
    if (name === undefined) return undefined;
    const e = new Error(`${FATAL.get(name)} (broker answered ${name})`);
    Object.defineProperty(e, 'type', { value: name, enumerable: true });
    return e;
  }

  /** Stops heartbeating and leaves: for good (dynamic), or keeping the assignment for the session timeout (static). */
  async leave(): Promise<void> {
    this.#running = false;
    this.#left = true;
    this.#pause.wake();
    await this.#loop;
    await this.#reconciling;
    if (!this.memberId || this.memberEpoch <= 0) return;
    const epoch = this.#static ? LEAVE_STATIC : LEAVE;
    await this.#send({ memberId: this.memberId, memberEpoch: epoch, owned: [] }).catch((err: unknown) => {
      this.#log.warn({ err: String((err as Error)?.message ?? err) }, 'consumer group: leaving failed; the broker moves the partitions when the session times out');
    });
    this.memberEpoch = epoch;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
