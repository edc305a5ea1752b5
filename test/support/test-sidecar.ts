import pino, { type Logger } from 'pino'
import type { SidecarConfig } from '../../src/config/schema.js'
import { validateConfig } from '../../src/config/schema.js'
import type { FilterPlugin } from '../../src/pipeline/filter-api.js'
import { CONTROLLER_PORT_OFFSET } from '../../src/server/broker-port-plan.js'
import { Sidecar, type SidecarOptions } from '../../src/server/sidecar.js'
import { freePortRange } from '../harness/free-port.js'
import { type LogLineProblem, strictLogSink } from './strict-log.js'

/**
 * A sidecar running in the test process in front of a real cluster, with its log lines captured so tests can
 * assert on them. Every line is read with a strict JSON parser (support/strict-log.ts): stop() fails when a line
 * repeated a field name. Ports: the bootstrap listener takes a free port; the per-node listeners a free range.
 */
export interface TestSidecar {
  readonly sidecar: Sidecar
  readonly config: SidecarConfig
  /** host:port clients are pointed at. */
  readonly bootstrap: string
  readonly logs: Record<string, unknown>[]
  /** Log lines a strict JSON reader refuses (a field name twice); stop() throws when there are any. */
  readonly logProblems: readonly LogLineProblem[]
  readonly log: Logger
  /** Drains and closes the sidecar, then fails if any log line it wrote was not strict JSON. */
  stop(): Promise<void>
}

/**
 * A port base B such that B..B+span are free now (node ids 1..n listen at B+id; B itself is the bootstrap), and so
 * is the controllers' range above it (DescribeQuorum is rewritten to B+1000+id; a port taken there, by any socket's
 * local end, fails that listener).
 */
export function freePortBase(span = 8): Promise<number> {
  return freePortRange(span + 1, [CONTROLLER_PORT_OFFSET])
}

export async function startTestSidecar(
  bootstrapServers: string,
  raw: Record<string, unknown> = {},
  options: Partial<Pick<SidecarOptions, 'plugins' | 'serverFactory' | 'observer' | 'metricsRegistry'>> = {},
): Promise<TestSidecar> {
  const sink = strictLogSink()
  const log = pino({ level: process.env.KSC_TEST_LOG_LEVEL ?? 'debug' }, sink.stream)
  const portBase = await freePortBase(12)
  const { listen, ...rest } = raw
  const result = validateConfig(
    {
      // The bootstrap listener sits just below the node range: base+1.. are the nodes. `raw.listen` adds to it
      // (e.g. `listen: { tls: {...} }`).
      listen: { host: '127.0.0.1', port: portBase, ...(listen as Record<string, unknown> | undefined) },
      brokers: { host: '127.0.0.1', advertisedHost: '127.0.0.1', portBase },
      upstream: { bootstrap: bootstrapServers.split(',') },
      admin: { enabled: false },
      ...rest,
    },
    { requireUpstream: true },
  )
  if (!result.config) throw new Error(`test sidecar config invalid: ${JSON.stringify(result.issues)}`)
  const config = result.config
  const sidecar = await Sidecar.start(config, { log, ...options })
  const b = sidecar.status().bootstrap!
  return {
    sidecar,
    config,
    bootstrap: `${b.host}:${b.port}`,
    logs: sink.lines,
    logProblems: sink.problems,
    log,
    stop: async () => {
      await sidecar.shutdown(2000)
      sink.assertStrict(`the test sidecar on ${b.host}:${b.port}`)
    },
  }
}

export type { FilterPlugin }
