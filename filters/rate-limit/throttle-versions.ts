import { ApiKey } from '../../src/pipeline/filter-api.js'

/**
 * From which response version a client backs off by itself when a response carries throttle_time_ms (KIP-219: the
 * broker answers at once and mutes the connection; the client waits throttle_time_ms before sending to that broker
 * again). Below these versions Kafka's brokers held the response back for the throttle time instead, and so does
 * the rate-limit filter.
 *
 * Source: `shouldClientThrottle(version)` of each response class in kafka-clients
 * (clients/src/main/java/org/apache/kafka/common/requests/*Response.java, used by NetworkClient.maybeThrottle), which
 * matches the "Starting in version N, on quota violation, brokers send out responses before throttling" comments of
 * the JSON specs (common/message/*Response.json). kafkajs 2.2.4 honours the same versions: its response parsers
 * return `clientSideThrottleTime` from exactly these (e.g. produce/v6, fetch/v8, metadata/v6) and
 * network/connection.js passes it to requestQueue.maybeThrottle. librdkafka does neither: it only reports the
 * throttle time (INTRODUCTION.md, "KIP-219 - Client-side throttling: Not supported"), so muting the connection is
 * what holds it back.
 *
 * APIs not listed return false from shouldClientThrottle at every version (the broker-only and newer group APIs,
 * DescribeCluster, ...): Java never backs off on them, and their responses are held back too.
 */
const CLIENT_THROTTLES_SINCE: ReadonlyMap<number, number> = new Map([
  [ApiKey.Produce, 6],
  [ApiKey.Fetch, 8],
  [ApiKey.ListOffsets, 3],
  [ApiKey.Metadata, 6],
  [ApiKey.OffsetCommit, 4],
  [ApiKey.OffsetFetch, 4],
  [ApiKey.FindCoordinator, 2],
  [ApiKey.JoinGroup, 3],
  [ApiKey.Heartbeat, 2],
  [ApiKey.LeaveGroup, 2],
  [ApiKey.SyncGroup, 2],
  [ApiKey.DescribeGroups, 2],
  [ApiKey.ListGroups, 2],
  [ApiKey.ApiVersions, 2],
  [ApiKey.CreateTopics, 3],
  [ApiKey.DeleteTopics, 2],
  [ApiKey.DeleteRecords, 1],
  [ApiKey.InitProducerId, 1],
  [ApiKey.AddPartitionsToTxn, 1],
  [ApiKey.AddOffsetsToTxn, 1],
  [ApiKey.EndTxn, 1],
  [ApiKey.TxnOffsetCommit, 1],
  [ApiKey.DescribeAcls, 1],
  [ApiKey.CreateAcls, 1],
  [ApiKey.DeleteAcls, 1],
  [ApiKey.DescribeConfigs, 2],
  [ApiKey.AlterConfigs, 1],
  [ApiKey.AlterReplicaLogDirs, 1],
  [ApiKey.DescribeLogDirs, 1],
  [ApiKey.CreatePartitions, 1],
  [ApiKey.CreateDelegationToken, 1],
  [ApiKey.RenewDelegationToken, 1],
  [ApiKey.ExpireDelegationToken, 1],
  [ApiKey.DescribeDelegationToken, 1],
  [ApiKey.DeleteGroups, 1],
  [ApiKey.ElectLeaders, 0],
  [ApiKey.IncrementalAlterConfigs, 0],
  [ApiKey.AlterPartitionReassignments, 0],
  [ApiKey.ListPartitionReassignments, 0],
  [ApiKey.OffsetDelete, 0],
  [ApiKey.DescribeUserScramCredentials, 0],
  [ApiKey.AlterUserScramCredentials, 0],
  [ApiKey.DescribeTopicPartitions, 0],
])

/** Whether a client reading this response version waits out its throttle_time_ms by itself. */
export function clientThrottles(apiKey: number, apiVersion: number): boolean {
  const since = CLIENT_THROTTLES_SINCE.get(apiKey)
  return since !== undefined && apiVersion >= since
}

/**
 * KIP-599: the versions from which CreateTopics, CreatePartitions and DeleteTopics may answer a topic with
 * THROTTLING_QUOTA_EXCEEDED (89). Sources: the request specs (CreateTopicsRequest.json "Version 6 ... may return a
 * THROTTLING_QUOTA_EXCEEDED error", CreatePartitionsRequest.json version 3, DeleteTopicsRequest.json version 5) and
 * the brokers' `newQuotaFor(request, strictSinceVersion = 6 / 3 / 5)` (core/src/main/scala/kafka/server/
 * KafkaApis.scala, ControllerApis.scala). Older versions get a permissive quota: every mutation is accepted and the
 * client is throttled afterwards.
 */
export const STRICT_MUTATION_QUOTA_SINCE: ReadonlyMap<number, number> = new Map([
  [ApiKey.CreateTopics, 6],
  [ApiKey.CreatePartitions, 3],
  [ApiKey.DeleteTopics, 5],
])

export function isControllerMutation(apiKey: number): boolean {
  return STRICT_MUTATION_QUOTA_SINCE.has(apiKey)
}

/**
 * Requests that are not counted against requestsPerSecond: ApiVersions and the SASL exchange are how a connection
 * starts, and throttling them would only delay its authentication (Kafka's broker exempts nothing here, but its
 * request quota counts handler time, not requests).
 */
export function isConnectionSetup(apiKey: number): boolean {
  return apiKey === ApiKey.ApiVersions || apiKey === ApiKey.SaslHandshake || apiKey === ApiKey.SaslAuthenticate
}
