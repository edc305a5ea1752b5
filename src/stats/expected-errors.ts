import { ErrorCode, type ErrorCodeName } from '../../codec/messages/error-codes.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'

/**
 * Error codes that are steps of the protocol's normal flow in the answer they come in, not client errors: a
 * healthy client in a healthy cluster gets them while it joins a group, while a group rebalances, while a
 * coordinator or a partition leader moves, and while a topic it asked for is auto-created. Statistics count every
 * error a filter reports (StatisticsService.kafkaError), these apart (`kafka_sidecar_response_expected_errors_total`,
 * `expectedErrors` in /stats), so `top`'s error column and `kafka_sidecar_response_errors_total` show only what
 * needs a look.
 *
 * The test for an entry: the protocol defines the answer as part of a flow (a KIP, the broker's code), and Kafka's
 * Java client takes it as such: it retries, rejoins or finds the coordinator or leader again by itself, logging
 * at DEBUG or INFO (Produce NOT_LEADER_OR_FOLLOWER at WARN, yet KIP-951 makes it the leader-moved answer).
 * File references are apache/kafka, clients/src/main/java/org/apache/kafka/clients/... unless they say otherwise.
 */

export interface ExpectedError {
  readonly api: number
  readonly codes: readonly ErrorCodeName[]
}

// A coordinator moved, is starting, or is loading its partition of __consumer_offsets after a broker restart:
// the client marks it unknown and finds it again with FindCoordinator, or backs off and retries.
// consumer/internals/AbstractCoordinator.java (JoinGroup, SyncGroup and Heartbeat handlers),
// ConsumerCoordinator.java (OffsetCommit, OffsetFetch), AbstractHeartbeatRequestManager.java (KIP-848 heartbeats).
const COORDINATOR_MOVING: readonly ErrorCodeName[] = [
  'NOT_COORDINATOR',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
]

export const EXPECTED_ERRORS: readonly ExpectedError[] = [
  // KIP-394: a JoinGroup without a member id is answered MEMBER_ID_REQUIRED with the id to join with; every
  // classic-protocol member's first JoinGroup gets it. AbstractCoordinator.JoinGroupResponseHandler rejoins at DEBUG.
  { api: ApiKey.JoinGroup, codes: ['MEMBER_ID_REQUIRED', ...COORDINATOR_MOVING] },
  // REBALANCE_IN_PROGRESS is how a classic-protocol member learns that its group rebalances: Heartbeat's
  // answer (AbstractCoordinator.HeartbeatResponseHandler requests a rejoin, or ignores it while joining), a
  // SyncGroup overtaken by another rebalance (SyncGroupResponseHandler: "Need to re-join the group"), an
  // OffsetCommit sent meanwhile (ConsumerCoordinator.OffsetCommitResponseHandler requests a rejoin).
  { api: ApiKey.Heartbeat, codes: ['REBALANCE_IN_PROGRESS', ...COORDINATOR_MOVING] },
  { api: ApiKey.SyncGroup, codes: ['REBALANCE_IN_PROGRESS', ...COORDINATOR_MOVING] },
  { api: ApiKey.OffsetCommit, codes: ['REBALANCE_IN_PROGRESS', ...COORDINATOR_MOVING] },
  // KIP-447: offsets of a transaction not yet committed; ConsumerCoordinator.OffsetFetchResponseHandler retries.
  { api: ApiKey.OffsetFetch, codes: ['UNSTABLE_OFFSET_COMMIT', ...COORDINATOR_MOVING] },
  { api: ApiKey.ConsumerGroupHeartbeat, codes: COORDINATOR_MOVING },
  // Topic auto-creation: a Metadata request for a topic that does not exist yet is answered
  // UNKNOWN_TOPIC_OR_PARTITION while the controller creates it (core/src/main/scala/kafka/server/
  // AutoTopicCreationManager.scala, sendCreateTopicRequest), or LEADER_NOT_AVAILABLE once created and until its
  // leader is elected (same file, createTopicsInZk; the metadata cache during elections). The client asks again
  // (NetworkClient: "reported a recoverable issue"). Told by the answer alone, a topic that is never created
  // (auto-creation off, a mistyped name) looks the same: its count of expected errors then keeps growing.
  { api: ApiKey.Metadata, codes: ['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE'] },
  // A partition leader moved (preferred-leader election, a broker restart): KIP-951 answers Produce and Fetch
  // NOT_LEADER_OR_FOLLOWER with the new leader; KIP-320 leader epochs answer FENCED_LEADER_EPOCH /
  // UNKNOWN_LEADER_EPOCH to a client whose metadata is older or newer than the broker's; KIP-207
  // OFFSET_NOT_AVAILABLE while a new leader has no high watermark yet. consumer/internals/FetchCollector.java
  // (handleInitializeErrors: metadata update, DEBUG), OffsetFetcherUtils.java (ListOffsets: retry, DEBUG),
  // producer/internals/Sender.java (completeBatch: metadata update, retry).
  {
    api: ApiKey.Fetch,
    codes: ['NOT_LEADER_OR_FOLLOWER', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH', 'OFFSET_NOT_AVAILABLE'],
  },
  {
    api: ApiKey.ListOffsets,
    codes: [
      'NOT_LEADER_OR_FOLLOWER',
      'LEADER_NOT_AVAILABLE',
      'FENCED_LEADER_EPOCH',
      'UNKNOWN_LEADER_EPOCH',
      'OFFSET_NOT_AVAILABLE',
    ],
  },
  { api: ApiKey.Produce, codes: ['NOT_LEADER_OR_FOLLOWER'] },
]

/** `apiKey * 2^16 + errorCode` of every pair (error codes are int16). */
const PAIRS = new Set<number>(
  EXPECTED_ERRORS.flatMap((entry) => entry.codes.map((name) => pairKey(entry.api, ErrorCode[name]))),
)

function pairKey(apiKey: number, errorCode: number): number {
  return apiKey * 0x10000 + (errorCode & 0xffff)
}

/** Whether `errorCode` in a response of `apiKey` is a step of the protocol's normal flow (see above). */
export function isExpectedError(apiKey: number, errorCode: number): boolean {
  return PAIRS.has(pairKey(apiKey, errorCode))
}
