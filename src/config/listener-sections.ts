/**
 * The sections that say where the sidecar listens: listen (the bootstrap listener clients are pointed at), brokers
 * (one listener per upstream node) and admin (the HTTP endpoint and the optional health listener), and the check that
 * no two of them were given the same port on overlapping hosts, which would only fail later, at bind time.
 */
import { reusePortSupported } from '../runtime/node-features.js'
import { type HostPort, isWildcardHost, parseHost, parseHostPort } from './host-port.js'
import type { ValidateOptions } from './schema.js'
import { type ListenTlsConfig, listenTlsSection } from './tls-sections.js'
import { describeValue, INT32_MAX, type PathSegment, type Validator } from './validator.js'

export interface ListenConfig extends HostPort {
  /** TLS termination on every client-facing listener (the bootstrap and the per-broker ones); absent: plaintext. */
  readonly tls?: ListenTlsConfig
  /**
   * Every listener of the sidecar (client-facing, admin, health) binds with SO_REUSEPORT, so that a new sidecar
   * process can listen on the same ports before the old one stops: a handover without refused connections.
   */
  readonly reusePort: boolean
}

/** One local listener per upstream broker node id, at a port that depends only on the node id. */
export interface BrokersConfig {
  /** Bind host of the per-broker listeners. Default: listen.host. */
  readonly host: string
  /** Host name clients are told in Metadata and FindCoordinator. Default: listen.host, or localhost for 0.0.0.0/::. */
  readonly advertisedHost: string
  /** Node N listens on portBase + N unless `ports` names it. */
  readonly portBase: number
  /** Explicit ports by node id (decimal string keys, as in the YAML). */
  readonly ports: Readonly<Record<string, number>>
}

export interface AdminConfig {
  readonly host: string
  readonly port: number
  readonly enabled: boolean
  /**
   * A second listener that serves only /healthz and /readyz (status, no reasons), for probes from outside the
   * process's network namespace (the kubelet probes the pod IP) while /stats and /metrics stay on `host`.
   * Absent: no such listener. Independent of `enabled`.
   */
  readonly healthPort?: number
  /** Bind host of the health listener; present when healthPort is. Default 0.0.0.0. */
  readonly healthHost?: string
}

export const LISTEN_DEFAULTS = { host: '127.0.0.1', port: 9092, reusePort: false } as const
export const BROKERS_DEFAULTS = { portBase: 9093 } as const
export const ADMIN_DEFAULTS = { host: '127.0.0.1', port: 9644, enabled: true } as const
/** The health listener exists for probes from the pod IP, so it binds every interface unless told otherwise. */
export const ADMIN_HEALTH_HOST_DEFAULT = '0.0.0.0'

export function listenSection(v: Validator, value: unknown, options: ValidateOptions): ListenConfig {
  const hp = hostPortSection(v, value, ['listen'], LISTEN_DEFAULTS, ['tls', 'reusePort'])
  const reusePort = v.isMapping(value)
    ? v.bool(value.reusePort, ['listen', 'reusePort'], LISTEN_DEFAULTS.reusePort)
    : LISTEN_DEFAULTS.reusePort
  if (reusePort && !reusePortSupported()) {
    v.fail(
      ['listen', 'reusePort'],
      `needs Node 22.12 or later, and this is Node ${process.versions.node} (which would ignore it without a word): ` +
        'run the container image, whose Node has it, or leave it off',
    )
  }
  const listen = { host: hp.host, port: hp.port, reusePort }
  if (!v.isMapping(value) || value.tls === undefined || value.tls === null) return listen
  return { ...listen, tls: listenTlsSection(v, value.tls, ['listen', 'tls'], options) }
}

export function adminSection(v: Validator, value: unknown): AdminConfig {
  const hp = hostPortSection(v, value, ['admin'], ADMIN_DEFAULTS, ['enabled', 'healthPort', 'healthHost'])
  const enabled = v.isMapping(value) ? v.bool(value.enabled, ['admin', 'enabled'], ADMIN_DEFAULTS.enabled) : true
  const admin = { host: hp.host, port: hp.port, enabled }
  if (!v.isMapping(value) || value.healthPort === undefined || value.healthPort === null) {
    if (v.isMapping(value) && value.healthHost !== undefined) {
      v.fail(['admin', 'healthHost'], 'is set without admin.healthPort: set the port of the health listener too')
    }
    return admin
  }
  const healthPort = v.int(value.healthPort, ['admin', 'healthPort'], -1, 1, 65535, 'a port')
  const healthHost = hostValue(v, value.healthHost, ['admin', 'healthHost'], ADMIN_HEALTH_HOST_DEFAULT)
  if (healthPort > 0 && enabled && healthPort === admin.port && hostsOverlap(healthHost, admin.host)) {
    v.fail(['admin', 'healthPort'], `${healthPort} is also admin.port: give the health listener its own port`)
  }
  return healthPort > 0 ? { ...admin, healthPort, healthHost } : admin
}

export function brokersSection(v: Validator, value: unknown, listen: HostPort): BrokersConfig {
  const at = ['brokers']
  const m = v.mapping(value, at, ['host', 'advertisedHost', 'portBase', 'ports'])
  const host = hostValue(v, m.host, [...at, 'host'], listen.host)
  const advertisedDefault = isWildcardHost(listen.host) ? 'localhost' : listen.host
  const advertisedHost = hostValue(v, m.advertisedHost, [...at, 'advertisedHost'], advertisedDefault)
  if (isWildcardHost(advertisedHost)) {
    v.fail(
      [...at, 'advertisedHost'],
      `"${advertisedHost}" cannot be told to clients: set the host name or address they can reach the sidecar at`,
    )
  }
  const portBase = v.int(m.portBase, [...at, 'portBase'], BROKERS_DEFAULTS.portBase, 1, 65535, 'a port')
  const ports: Record<string, number> = {}
  const pm = v.mapping(m.ports, [...at, 'ports'], null)
  const seen = new Map<number, string>()
  for (const [node, port] of Object.entries(pm)) {
    const nodeAt = [...at, 'ports', node]
    if (!/^\d{1,10}$/.test(node) || Number(node) > INT32_MAX) {
      v.fail(nodeAt, `"${node}" is not a broker node id (expected a non-negative integer)`)
      continue
    }
    const p = v.int(port, nodeAt, -1, 1, 65535, 'a port')
    if (p < 0) continue
    const other = seen.get(p)
    if (other !== undefined) v.fail(nodeAt, `port ${p} is already used by node ${other}`)
    seen.set(p, node)
    ports[String(Number(node))] = p
  }
  return { host, advertisedHost, portBase, ports }
}

/** Ports given twice (listen, admin, the health listener, explicit broker ports) on hosts that overlap. */
export function checkPortClashes(v: Validator, listen: ListenConfig, admin: AdminConfig, brokers: BrokersConfig): void {
  if (
    admin.enabled &&
    admin.port === listen.port &&
    hostsOverlap(admin.host, listen.host) &&
    !v.issues.some((i) => i.segments[0] === 'admin' || i.segments[0] === 'listen')
  ) {
    v.fail(['admin', 'port'], `${admin.port} is also listen.port: give the admin endpoint its own port`)
  }
  if (
    admin.healthPort === listen.port &&
    hostsOverlap(admin.healthHost ?? '', listen.host) &&
    !v.issues.some((i) => i.segments[0] === 'admin' || i.segments[0] === 'listen')
  ) {
    v.fail(['admin', 'healthPort'], `${admin.healthPort} is also listen.port: give the health listener its own port`)
  }
  for (const [node, port] of Object.entries(brokers.ports)) {
    const clash =
      port === listen.port && hostsOverlap(brokers.host, listen.host)
        ? 'listen.port'
        : admin.enabled && port === admin.port && hostsOverlap(brokers.host, admin.host)
          ? 'admin.port'
          : undefined
    if (clash !== undefined) v.fail(['brokers', 'ports', node], `${port} is also ${clash}: pick another port`)
  }
}

function hostsOverlap(a: string, b: string): boolean {
  return a === b || isWildcardHost(a) || isWildcardHost(b)
}

function hostPortSection(
  v: Validator,
  value: unknown,
  at: readonly PathSegment[],
  defaults: HostPort,
  extraKeys: readonly string[] = [],
): HostPort {
  // `listen: 0.0.0.0:9092` is accepted as a shorthand for the mapping.
  if (typeof value === 'string') {
    const hp = parseHostPort(value)
    if ('error' in hp) {
      v.fail(at, `${describeValue(value)} is not a valid host:port (${hp.error})`)
      return defaults
    }
    return hp
  }
  const m = v.mapping(value, at, ['host', 'port', ...extraKeys])
  return {
    host: hostValue(v, m.host, [...at, 'host'], defaults.host),
    port: v.int(m.port, [...at, 'port'], defaults.port, 1, 65535, 'a port'),
  }
}

function hostValue(v: Validator, value: unknown, at: readonly PathSegment[], fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value === 'string') {
    const host = parseHost(value.trim())
    if (host !== undefined) return host
  }
  v.fail(at, `${describeValue(value)} is not a host name or IP address`)
  return fallback
}
