import { availableParallelism } from 'node:os'
import { HarnessConfigError } from './errors.js'
import { KafkaCluster, type ManagedCluster, type SaslUser } from './kafka-cluster.js'
import { DEFAULT_KAFKA_VERSION } from './kafka-jars.js'

/** Accounts on the shared clusters' SASL_PLAINTEXT listener (PLAIN and SCRAM-SHA-512). */
export const SHARED_SASL_USERS: readonly SaslUser[] = [
  { name: 'alice', password: 'alice-secret' },
  { name: 'bob', password: 'bob-secret' },
]

/** The newest 3.x release (Kafka 3.9 is the last line with ZooKeeper and the old protocol minimums). */
export const PREVIOUS_LINE_VERSION = '3.9.2'

export type HarnessMode = 'maven' | 'testcontainers' | 'none'

export interface SharedClusterPlan {
  name: string
  version: string
  nodes: number
}

/**
 * Which clusters a test run shares, from the environment:
 *   KAFKA_HARNESS        maven (default) | testcontainers (needs Docker; single-node only) | none (start nothing,
 *                        for runs that need no broker, e.g. codec unit tests only)
 *   KAFKA_TEST_VERSIONS  extra Kafka versions, comma-separated (e.g. 3.9.2); each gets single and triple clusters.
 *                        Unset: the previous line's 3.9.x gets a single-node cluster, so every run also covers
 *                        the last 3.x release (its SCRAM works with Debian's kcat, see kcatSupportsScram);
 *                        set but empty: the default version only
 *   KAFKA_HARNESS_START_CONCURRENCY  clusters started at once (default: one per two cores)
 *   KAFKA_TEST_CLUSTERS  only these planned clusters, by name (e.g. "single" while working on one test file);
 *                        test files that ask for another cluster fail with UnknownClusterError
 * The default version's clusters are named "single" and "triple"; extra versions append "-<version>".
 */
export function planSharedClusters(env: NodeJS.ProcessEnv = process.env): {
  mode: HarnessMode
  plans: SharedClusterPlan[]
} {
  const mode = (env.KAFKA_HARNESS || 'maven') as HarnessMode
  if (!['maven', 'testcontainers', 'none'].includes(mode)) {
    throw new HarnessConfigError('KAFKA_HARNESS', env.KAFKA_HARNESS, 'maven, testcontainers or none')
  }
  if (mode === 'none') return { mode, plans: [] }
  const explicit = env.KAFKA_TEST_VERSIONS !== undefined
  const extra = (explicit ? env.KAFKA_TEST_VERSIONS! : PREVIOUS_LINE_VERSION)
    .split(',')
    .map((version) => version.trim())
    .filter((version) => version !== '' && version !== DEFAULT_KAFKA_VERSION)
  const plans: SharedClusterPlan[] = []
  for (const version of [DEFAULT_KAFKA_VERSION, ...new Set(extra)]) {
    const suffix = version === DEFAULT_KAFKA_VERSION ? '' : `-${version}`
    plans.push({ name: `single${suffix}`, version, nodes: 1 })
    // A container cluster is one broker; the 3-node clusters exist only on the Maven path (and, for the implicit
    // previous-line version, are left out to keep the default run short on two cores).
    if (mode === 'maven' && (explicit || version === DEFAULT_KAFKA_VERSION))
      plans.push({ name: `triple${suffix}`, version, nodes: 3 })
  }
  const only = env.KAFKA_TEST_CLUSTERS?.split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '')
  if (only !== undefined && only.length > 0) {
    const unknown = only.filter((name) => !plans.some((plan) => plan.name === name))
    if (unknown.length > 0) {
      throw new HarnessConfigError('KAFKA_TEST_CLUSTERS', env.KAFKA_TEST_CLUSTERS, plans.map((p) => p.name).join(', '))
    }
    return { mode, plans: plans.filter((plan) => only.includes(plan.name)) }
  }
  return { mode, plans }
}

export interface SharedClusters {
  clusters: Map<string, ManagedCluster>
  stop(): Promise<void>
}

/**
 * Starts every planned cluster, a few at a time: a broker's start-up is CPU-bound (class loading, JIT), so
 * overlapping clusters only pays with cores to spare. Measured on 2 cores (single + triple, Kafka 4.3.1):
 * one after the other 10 s idle / 19-21 s under load, both at once 10 s idle / 22-25 s under load.
 * Default: one cluster per two cores; KAFKA_HARNESS_START_CONCURRENCY overrides.
 * If any cluster fails, the others are stopped before the error propagates.
 */
export async function startSharedClusters(
  mode: HarnessMode,
  plans: readonly SharedClusterPlan[],
  log: (message: string) => void,
): Promise<SharedClusters> {
  const clusters = new Map<string, ManagedCluster>()
  const stop = async (): Promise<void> => {
    await Promise.allSettled([...clusters.values()].map((cluster) => cluster.stop()))
  }
  try {
    const queue = [...plans]
    const worker = async (): Promise<void> => {
      for (let plan = queue.shift(); plan; plan = queue.shift()) {
        try {
          clusters.set(plan.name, await startOne(mode, plan, log))
        } catch (err) {
          queue.length = 0 // no point starting the rest: the run fails anyway
          throw err
        }
      }
    }
    const results = await Promise.allSettled(Array.from({ length: startConcurrency() }, worker))
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected')
    if (failure) throw failure.reason
  } catch (err) {
    await stop()
    throw err
  }
  // Insertion order follows start-up completion; keep the plan's order for stable test names.
  const ordered = new Map(plans.map((plan) => [plan.name, clusters.get(plan.name)!]))
  return { clusters: ordered, stop }
}

function startConcurrency(): number {
  const configured = Number(process.env.KAFKA_HARNESS_START_CONCURRENCY)
  if (Number.isInteger(configured) && configured > 0) return configured
  return Math.max(1, Math.floor(availableParallelism() / 2))
}

async function startOne(
  mode: HarnessMode,
  plan: SharedClusterPlan,
  log: (message: string) => void,
): Promise<ManagedCluster> {
  if (mode === 'testcontainers') {
    const { startContainerCluster } = await import('./testcontainers.js')
    return startContainerCluster({ name: plan.name, version: plan.version })
  }
  return KafkaCluster.start({
    name: plan.name,
    version: plan.version,
    nodes: plan.nodes,
    listeners: {
      sasl: { users: SHARED_SASL_USERS },
      // Client auth "requested": TLS clients with and without a certificate both get in.
      ssl: { generate: true, clientAuth: 'requested' },
    },
    log,
  })
}
