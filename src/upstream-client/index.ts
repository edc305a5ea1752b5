/** The sidecar's own upstream Kafka client (see client.ts). */
export { UpstreamClient } from './client.js'
export * from './errors.js'
export type { BrokerNode, ClusterView, PartitionView, TopicView, Uuid } from './metadata.js'
export type { ProducerOptions, SendTarget, UpstreamClientHealth, UpstreamClientOptions } from './options.js'
export { murmur2, partitionForKey } from './partitioner.js'
export type { Acks, CompressionName, ProduceOptions, ProducerRecord, RecordMetadata } from './produce-records.js'
export type { SaslCredentials, SaslMechanismName } from './sasl.js'
