/**
 * The harness as test files use it: the shared clusters that test/global-setup.ts started, node faults on
 * them through the control endpoint, and the tools to talk to them. Import from test files only (it uses
 * vitest's inject); standalone code imports kafka-cluster.ts and friends directly.
 */
import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import { ClusterControlClient, type NodeAction } from './cluster-control.js'
import { UnknownClusterError } from './errors.js'
import type { KafkaClusterDescription, KafkaNodeDescription } from './kafka-cluster.js'
import type {} from './provided-context.js'

export {
  ClusterControlClient,
  type ClusterControlServer,
  NODE_ACTIONS,
  type NodeAction,
  startClusterControlServer,
} from './cluster-control.js'
export * from './errors.js'
export {
  KafkaCluster,
  type KafkaClusterDescription,
  type KafkaClusterOptions,
  type KafkaNodeDescription,
  type ManagedCluster,
  type SaslListenerOptions,
  type SaslMechanism,
  type SaslUser,
  type SslClientAuth,
  type SslListenerOptions,
} from './kafka-cluster.js'
export { DEFAULT_KAFKA_VERSION, resolveKafkaClasspath } from './kafka-jars.js'
export {
  type KafkaTool,
  type KafkaToolProcess,
  type KafkaToolResult,
  runKafkaTool,
  spawnKafkaTool,
} from './kafka-tools.js'
export { type KcatOptions, type KcatVersions, kcatSupportsScram, kcatVersions, runKcat } from './kcat.js'
export { SHARED_SASL_USERS } from './shared-clusters.js'
export { generateTestTls, type TestTlsMaterial } from './tls.js'
export { type CreateTopicOptions, createTopic, waitForTopic } from './topics.js'
export { waitFor, within } from './wait-for.js'
export { isProcessAlive } from './watchdog.js'

/** Descriptions of every shared cluster of this run, in a stable order: for `describe.each`. */
export function sharedClusters(): KafkaClusterDescription[] {
  return inject('kafkaClusters')
}

/**
 * A shared cluster by name ("single", "triple", "single-3.9.2", ...) with node faults that run in the
 * globalSetup process. A test that stops or kills a node must bring it back (restartNode/startNode) before
 * it ends: other test files use the same brokers.
 */
export function getCluster(name: string): SharedCluster {
  const description = sharedClusters().find((cluster) => cluster.name === name)
  if (!description) {
    throw new UnknownClusterError(
      name,
      sharedClusters().map((cluster) => cluster.name),
    )
  }
  return new SharedCluster(description, new ClusterControlClient(inject('kafkaControlUrl')))
}

export class SharedCluster {
  #description: KafkaClusterDescription
  readonly #control: ClusterControlClient

  constructor(description: KafkaClusterDescription, control: ClusterControlClient) {
    this.#description = description
    this.#control = control
  }

  /** The cluster as of the last call (pids change when nodes restart); refresh() to re-read it. */
  get description(): KafkaClusterDescription {
    return this.#description
  }

  get name(): string {
    return this.#description.name
  }

  get version(): string {
    return this.#description.version
  }

  get classpath(): string {
    return this.#description.classpath
  }

  get bootstrapServers(): string {
    return this.#description.bootstrapServers
  }

  get nodes(): KafkaNodeDescription[] {
    return this.#description.nodes
  }

  async refresh(): Promise<KafkaClusterDescription> {
    this.#description = await this.#control.describe(this.name)
    return this.#description
  }

  stopNode(id: number): Promise<KafkaClusterDescription> {
    return this.#act(id, 'stop')
  }

  killNode(id: number): Promise<KafkaClusterDescription> {
    return this.#act(id, 'kill')
  }

  startNode(id: number): Promise<KafkaClusterDescription> {
    return this.#act(id, 'start')
  }

  restartNode(id: number): Promise<KafkaClusterDescription> {
    return this.#act(id, 'restart')
  }

  async #act(id: number, action: NodeAction): Promise<KafkaClusterDescription> {
    this.#description = await this.#control.nodeAction(this.name, id, action)
    return this.#description
  }
}

/** A topic name no other test (or earlier run against a kept cluster) has used. */
export function uniqueTopicName(prefix = 'test'): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`
}

/** Replication factor for a test topic: 3 on a cluster of three or more nodes, else the node count. */
export function replicationFactorFor(cluster: Pick<KafkaClusterDescription, 'nodes'>): number {
  return Math.min(3, cluster.nodes.length)
}
