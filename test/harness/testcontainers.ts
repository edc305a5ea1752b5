import { probeMetadata } from './broker-probe.js'
import { DockerUnavailableError, NotSupportedError } from './errors.js'
import { allocatePorts } from './free-port.js'
import type { KafkaClusterDescription, ManagedCluster } from './kafka-cluster.js'
import { DEFAULT_KAFKA_VERSION, resolveKafkaClasspath } from './kafka-jars.js'
import { waitFor } from './wait-for.js'

export interface ContainerClusterOptions {
  name?: string
  version?: string
  /** Address advertised to clients; the container's port is published on all host addresses. Default 127.0.0.2. */
  advertisedHost?: string
  startTimeoutMs?: number
}

/**
 * Opt-in alternative to the Maven JVMs (KAFKA_HARNESS=testcontainers): one KRaft broker from the official
 * apache/kafka image. It REQUIRES a Docker (or compatible) engine; the Maven path needs none and is what CI runs.
 *
 * It uses testcontainers' GenericContainer rather than @testcontainers/kafka: in the Node-20-compatible
 * 11.x line, KafkaContainer only drives Confluent cp-kafka images, whose versions do not map one-to-one to
 * Apache Kafka releases, while apache/kafka:<version> runs exactly the version the Maven path runs.
 * Single node only, and node faults (stop/kill/restart) are not offered: fault tests need the Maven harness.
 * The Kafka tools still run from the Maven jars (Java and Maven are needed for those tests).
 */
export async function startContainerCluster(options: ContainerClusterOptions = {}): Promise<ManagedCluster> {
  const version = options.version ?? DEFAULT_KAFKA_VERSION
  const name = options.name ?? `kafka-${version}-container`
  const host = options.advertisedHost ?? '127.0.0.2'
  const started = Date.now()
  // Loaded only on this opt-in path: the default run never touches Docker or its client libraries.
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers')
  try {
    await getContainerRuntimeClient()
  } catch (err) {
    throw new DockerUnavailableError((err as Error).message)
  }
  const classpath = await resolveKafkaClasspath(version)
  // The same port inside and outside, chosen up front, so the advertised address is right from the first start.
  const [port] = (await allocatePorts('127.0.0.1', 1)) as [number]
  const container = await new GenericContainer(`apache/kafka:${version}`)
    .withExposedPorts({ container: port, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${port},CONTROLLER://localhost:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${port}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(options.startTimeoutMs ?? 180_000)
    .start()
  await waitFor(
    'the container broker to serve Metadata',
    async () => (await probeMetadata(host, port)).brokers.length === 1,
    {
      timeoutMs: 60_000,
    },
  )
  const startupMs = Date.now() - started
  const unsupported = (what: string): Promise<never> =>
    Promise.reject(
      new NotSupportedError(`${what} with KAFKA_HARNESS=testcontainers`, 'node faults need the Maven harness'),
    )
  const description: KafkaClusterDescription = {
    name,
    harness: 'testcontainers',
    version,
    classpath,
    bootstrapServers: `${host}:${port}`,
    listeners: { plaintext: `${host}:${port}` },
    nodes: [
      { id: 1, host, port, controllerPort: 9093, logFile: '(docker logs)', dir: '(in the container)', running: true },
    ],
    startupMs,
  }
  let stopped = false
  return {
    name,
    describe: () => ({ ...description, nodes: description.nodes.map((node) => ({ ...node, running: !stopped })) }),
    stopNode: () => unsupported('stopNode'),
    killNode: () => unsupported('killNode'),
    startNode: () => unsupported('startNode'),
    restartNode: () => unsupported('restartNode'),
    async stop() {
      if (stopped) return
      stopped = true
      await container.stop()
    },
  }
}
