// Kafka requests the library's clients have no method for (a Fetch without a session, an OffsetCommit
// on our own connection, ConsumerGroupHeartbeat and ConsumerGroupDescribe under KIP-848): its encoder for
// an API at the highest version both it and the broker speak, through its friend API kGetApi.
import { kGetApi, type API, type Base } from '@platformatic/kafka';

/** The library's implementation of the Kafka API `name` (rejects when neither side has a usable version). */
export function protocolApi<A = API<unknown[], unknown>>(client: Base, name: string): Promise<A> {
  return new Promise((resolve, reject) => client[kGetApi](name, (err, api) => (err ? reject(err) : resolve(api as A))));
}
