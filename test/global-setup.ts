import type { TestProject } from 'vitest/node'
import { startClusterControlServer } from './harness/cluster-control.js'
import { SystemToolsInstallError, SystemToolsMissingError } from './harness/errors.js'
import type {} from './harness/provided-context.js'
import { type RedisServer, startRedisServer } from './harness/redis-server.js'
import { runNeedsSchemaRegistry, SchemaRegistryProcess } from './harness/schema-registry.js'
import { planSharedClusters, startSharedClusters } from './harness/shared-clusters.js'
import { ensureSystemTools } from './harness/system-tools.js'

/**
 * Starts the real Kafka clusters shared by every test file of the run (see planSharedClusters for the
 * KAFKA_HARNESS / KAFKA_TEST_VERSIONS switches), a loopback control endpoint through which workers can
 * stop, kill and restart their nodes, and one Redis server (the rate-limit filter's cluster-wide budgets; a few MB,
 * started with the brokers), and hands them to the tests via provide/inject.
 * The brokers run under watchdogs: if this process dies without running the teardown, they die with it.
 * First, before any broker starts, the system tools the tests need (kcat, promtool, openssl, redis-server) are checked and, as root with
 * apt-get, installed (test/harness/system-tools.ts); a run that lacks one and cannot install it stops here.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (message: string): void => {
    process.stderr.write(`[kafka-harness] ${message}\n`)
  }
  const { mode, plans } = planSharedClusters()
  // Only the tests that talk to a broker use these tools: a run without brokers (KAFKA_HARNESS=none) needs none.
  if (plans.length > 0) await ensureToolsOrExit(log)
  const started = Date.now()
  // The schema registry (Apicurio, issue 18) starts beside the brokers, only for runs that include its tests.
  const registry = plans.length > 0 && runNeedsSchemaRegistry() ? startSchemaRegistry(log) : undefined
  registry?.catch(() => {}) // awaited below; this only keeps an early failure from counting as unhandled
  const shared = await startSharedClusters(mode, plans, log)
  if (plans.length > 0) {
    log(`${plans.length} shared cluster(s) up in ${((Date.now() - started) / 1000).toFixed(1)} s (${mode})`)
  } else {
    log('KAFKA_HARNESS=none: no shared clusters; tests that need one will fail')
  }
  const control = await startClusterControlServer(shared.clusters)
  let redis: RedisServer | undefined
  if (plans.length > 0) {
    redis = await startRedisServer()
    log(`redis-server up at ${redis.url}`)
  }

  project.provide(
    'kafkaClusters',
    [...shared.clusters.values()].map((cluster) => cluster.describe()),
  )
  project.provide('kafkaControlUrl', control.url)
  project.provide('redisUrl', redis?.url ?? '')
  const schemaRegistry = await registry
  project.provide('schemaRegistry', schemaRegistry?.describe() ?? null)

  return async () => {
    await control.close()
    await Promise.all([shared.stop(), schemaRegistry?.close(), redis?.stop()])
  }
}

/** One Apicurio Registry for the whole run (test/harness/schema-registry.ts); its JVM dies with this process. */
async function startSchemaRegistry(log: (message: string) => void): Promise<SchemaRegistryProcess> {
  const started = Date.now()
  const registry = await SchemaRegistryProcess.create({ log })
  const d = await registry.start()
  log(`Apicurio Registry ${d.version} up at ${d.url} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return registry
}

/**
 * A missing tool ends the run at once with its one message: thrown from a global setup, vitest would print its
 * own "No test files found" above it, which sends a new user looking in the wrong place.
 */
async function ensureToolsOrExit(log: (message: string) => void): Promise<void> {
  try {
    await ensureSystemTools({ log })
  } catch (err) {
    if (!(err instanceof SystemToolsMissingError || err instanceof SystemToolsInstallError)) throw err
    log(err.message)
    process.exit(1)
  }
}
