/** The sidecar's own upstream Kafka client (see client.ts). */
export {
  type ProducerOptions,
  type SendTarget,
  UpstreamClient,
  type UpstreamClientHealth,
  type UpstreamClientOptions,
} from './client.js'
export * from './errors.js'
export type { BrokerNode, ClusterView, PartitionView, TopicView, Uuid } from './metadata.js'
export { murmur2, partitionForKey } from './partitioner.js'
export type { Acks, CompressionName, ProduceOptions, ProducerRecord, RecordMetadata } from './producer.js'
export type { SaslCredentials, SaslMechanismName } from './sasl.js'
