import type { KafkaClusterDescription } from './kafka-cluster.js'
import type { SchemaRegistryDescription } from './schema-registry.js'

/*
 * What test/global-setup.ts hands to test files through vitest's provide/inject. Declared here once so
 * both sides type-check against the same shape.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    /** Every shared cluster of this run: single/triple on the default version, plus KAFKA_TEST_VERSIONS extras. */
    kafkaClusters: KafkaClusterDescription[]
    /** Base URL (with token) of the cluster control endpoint in the globalSetup process. */
    kafkaControlUrl: string
    /** redis://127.0.0.1:PORT of the run's shared Redis server (test/harness/redis-server.ts); '' without brokers. */
    redisUrl: string
    /** The run's Apicurio Registry (schema-validation tests), or null when the run includes none of its tests. */
    schemaRegistry: SchemaRegistryDescription | null
  }
}
