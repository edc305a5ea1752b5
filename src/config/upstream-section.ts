/**
 * upstream: the brokers the sidecar connects to (bootstrap list, timeouts), with the TLS towards them
 * (tls-sections.ts) and the settings of the sidecar's own client of the cluster (upstream-client-section.ts).
 */
import { type HostPort, parseHostPort } from './host-port.js'
import type { ValidateOptions } from './schema.js'
import { type UpstreamTlsConfig, upstreamTlsSection } from './tls-sections.js'
import { type UpstreamClientConfig, upstreamClientSection } from './upstream-client-section.js'
import { describeValue, INT32_MAX, type Validator } from './validator.js'

export interface UpstreamConfig {
  /** Bootstrap brokers; required for `run` (from the file, KAFKA_SIDECAR_UPSTREAM or --upstream). */
  readonly bootstrap: readonly HostPort[]
  readonly connectTimeoutMs: number
  readonly metadataRefreshMs: number
  readonly tls: UpstreamTlsConfig
  /** The sidecar's own connections to the cluster (tap, shadow produce), with credentials of their own. */
  readonly client: UpstreamClientConfig
}

export const UPSTREAM_DEFAULTS = { connectTimeoutMs: 10_000, metadataRefreshMs: 30_000 } as const

export function upstreamSection(v: Validator, value: unknown, options: ValidateOptions): UpstreamConfig {
  const at = ['upstream']
  const m = v.mapping(value, at, ['bootstrap', 'connectTimeoutMs', 'metadataRefreshMs', 'tls', 'client'])
  const bootstrap: HostPort[] = []
  const list =
    typeof m.bootstrap === 'string' ? m.bootstrap.split(',') : v.list(m.bootstrap, [...at, 'bootstrap'], 'host:port')
  list.forEach((entry, i) => {
    const entryAt = [...at, 'bootstrap', i]
    if (typeof entry !== 'string') {
      v.fail(entryAt, `${describeValue(entry)} is not a valid host:port (expected a string like broker-1:9092)`)
      return
    }
    const hp = parseHostPort(entry)
    if ('error' in hp) v.fail(entryAt, `${describeValue(entry)} is not a valid host:port (${hp.error})`)
    else bootstrap.push(hp)
  })
  if (bootstrap.length === 0 && list.length === 0 && options.requireUpstream !== false) {
    v.fail(
      [...at, 'bootstrap'],
      'no upstream brokers: list them in upstream.bootstrap, KAFKA_SIDECAR_UPSTREAM or --upstream (host:port, comma-separated)',
    )
  }
  return {
    bootstrap,
    connectTimeoutMs: v.int(
      m.connectTimeoutMs,
      [...at, 'connectTimeoutMs'],
      UPSTREAM_DEFAULTS.connectTimeoutMs,
      1,
      INT32_MAX,
      'milliseconds',
    ),
    metadataRefreshMs: v.int(
      m.metadataRefreshMs,
      [...at, 'metadataRefreshMs'],
      UPSTREAM_DEFAULTS.metadataRefreshMs,
      1000,
      INT32_MAX,
      'milliseconds',
    ),
    tls: upstreamTlsSection(v, m.tls, [...at, 'tls'], options),
    client: upstreamClientSection(v, m.client, [...at, 'client'], options),
  }
}
