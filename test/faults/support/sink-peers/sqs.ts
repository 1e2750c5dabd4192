/** sqs: ElasticMQ (Maven Central), one queue per scenario. */
import { ElasticMqPeer } from '../../../support/elasticmq.ts';
import { withoutSinks, type SinkPeer, type StartedSinkPeer } from './define.ts';

export const sqsPeer = {
  name: 'sqs',
  kind: 'sqs',
  settings: 'SQS',
  async start(): Promise<StartedSinkPeer<ElasticMqPeer>> {
    const sqs = await ElasticMqPeer.start();
    /** The bodies in each scenario's queue: received once (receiving hides them), then remembered. */
    const drained = new Map<string, string[]>();
    return {
      peer: sqs,
      port: sqs.port,
      prepare: async (key) => void (await sqs.createQueue(key)),
      env({ key, gatePort, sinks }) {
        const e = withoutSinks(sqs.env(key, `http://127.0.0.1:${gatePort}`));
        // ElasticMQ does not check signatures: with S3 in the same instance, both sign with MinIO's keys.
        if (sinks.includes('s3')) {
          delete e['AWS_ACCESS_KEY_ID'];
          delete e['AWS_SECRET_ACCESS_KEY'];
        }
        return e;
      },
      secrets: () => [],
      async texts(key, expected) {
        let bodies = drained.get(key);
        if (!bodies) {
          bodies = (await sqs.drain(key, { expected, quietMs: 3000, timeoutMs: 300_000 })).map((m) => m.body);
          drained.set(key, bodies);
        }
        return bodies;
      },
      close: () => sqs.close(),
    };
  },
} as const satisfies SinkPeer<ElasticMqPeer>;
