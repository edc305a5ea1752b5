import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HarnessConfigError } from './errors.js'
import { KafkaCluster, type ManagedCluster, type SaslUser } from './kafka-cluster.js'
import { DEFAULT_KAFKA_VERSION } from './kafka-jars.js'
import { generateTestTls, type TestTlsMaterial } from './tls.js'

/** Accounts on the shared clusters' SASL_PLAINTEXT listener (PLAIN and SCRAM-SHA-512). */
export const SHARED_SASL_USERS: readonly SaslUser[] = [
  { name: 'alice', password: 'alice-secret' },
  { name: 'bob', password: 'bob-secret' },
]

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
 *   KAFKA_TEST_VERSIONS  extra Kafka versions, comma-separated (e.g. 3.9.2); each gets its own clusters
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
  const extra = (env.KAFKA_TEST_VERSIONS ?? '')
    .split(',')
    .map((version) => version.trim())
    .filter((version) => version !== '' && version !== DEFAULT_KAFKA_VERSION)
  const plans: SharedClusterPlan[] = []
  for (const version of [DEFAULT_KAFKA_VERSION, ...new Set(extra)]) {
    const suffix = version === DEFAULT_KAFKA_VERSION ? '' : `-${version}`
    plans.push({ name: `single${suffix}`, version, nodes: 1 })
    // A container cluster is one broker; the 3-node clusters exist only on the Maven path.
    if (mode === 'maven') plans.push({ name: `triple${suffix}`, version, nodes: 3 })
  }
  return { mode, plans }
}

export interface SharedClusters {
  clusters: Map<string, ManagedCluster>
  tls: TestTlsMaterial | null
  stop(): Promise<void>
}

/**
 * Starts every planned cluster at once (JVM start-up waits on I/O and on the quorum as much as on CPU, so
 * overlapping them is faster than one after another even on two cores). If any fails, the others are
 * stopped before the error propagates.
 */
export async function startSharedClusters(
  mode: HarnessMode,
  plans: readonly SharedClusterPlan[],
  log: (message: string) => void,
): Promise<SharedClusters> {
  const clusters = new Map<string, ManagedCluster>()
  let tlsDir: string | undefined
  let tls: TestTlsMaterial | null = null
  const stop = async (): Promise<void> => {
    await Promise.allSettled([...clusters.values()].map((cluster) => cluster.stop()))
    if (tlsDir) await rm(tlsDir, { recursive: true, force: true })
  }
  try {
    if (mode === 'maven' && plans.length > 0) {
      tlsDir = await mkdtemp(join(tmpdir(), 'ksc-tls-'))
      tls = await generateTestTls(tlsDir)
    }
    const results = await Promise.allSettled(
      plans.map(async (plan) => {
        const cluster = await startOne(mode, plan, tls, log)
        clusters.set(plan.name, cluster)
      }),
    )
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected')
    if (failure) throw failure.reason
  } catch (err) {
    await stop()
    throw err
  }
  // Insertion order follows start-up completion; keep the plan's order for stable test names.
  const ordered = new Map(plans.map((plan) => [plan.name, clusters.get(plan.name)!]))
  return { clusters: ordered, tls, stop }
}

async function startOne(
  mode: HarnessMode,
  plan: SharedClusterPlan,
  tls: TestTlsMaterial | null,
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
      ...(tls && {
        ssl: { certFile: tls.certFile, keyFile: tls.keyFile, caFile: tls.caFile, clientAuth: 'requested' as const },
      }),
    },
    log,
  })
}
