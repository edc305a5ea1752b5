/**
 * The TLS settings on both sides of the sidecar: listen.tls (terminating client connections, with client certificates
 * and the principal they name) and upstream.tls (connecting to the brokers). Certificate paths are resolved against
 * the config file's directory and checked to be readable, then their contents are checked, so that a bad file is
 * reported when the configuration is validated instead of on the first connection.
 */
import { accessSync, constants } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { readTlsMaterial, TLS_VERSIONS, type TlsVersion } from '../tls/material.js'
import {
  compileRule,
  PRINCIPAL_SOURCES,
  type PrincipalConfig,
  type PrincipalRuleConfig,
  type PrincipalSource,
} from '../tls/principal.js'
import type { ValidateOptions } from './schema.js'
import { describeValue, INT32_MAX, type PathSegment, type Validator } from './validator.js'

/** The sidecar's server side of TLS, with client certificates (mTLS) when `ca` is set. */
export interface ListenTlsConfig {
  /** Absolute paths (relative ones are resolved against the config file's directory). Watched: rotation needs no restart. */
  readonly cert: string
  readonly key: string
  /** CA bundle that issues client certificates; setting it asks clients for a certificate. */
  readonly ca?: string
  /** Default: true when `ca` is set. False: a certificate is asked for but optional (no certificate: no principal). */
  readonly requireClientCert: boolean
  /** Default TLSv1.2. */
  readonly minVersion: TlsVersion
  /** OpenSSL cipher list / TLS 1.3 suites; default: Node's. */
  readonly ciphers?: string
  /** A client that has not finished the handshake by then is closed. Default 10000. */
  readonly handshakeTimeoutMs: number
  /**
   * Handshakes started per second, all TLS listeners together (each costs the sidecar's one thread milliseconds of
   * CPU); over it, connections wait about a second for their turn, then are refused. 0: no limit. Default 50.
   */
  readonly maxHandshakesPerSecond: number
  /**
   * Connections whose handshake has not finished, all TLS listeners together (each holds ~45 KB of TLS state). When
   * full, the oldest one that has waited on its client for a second is closed, or else the new one. 0: no limit.
   * Default 256.
   */
  readonly maxPendingHandshakes: number
  /**
   * Where TLS runs: `main`, on the main thread with everything else; `worker`, a thread of its own that relays
   * established clients to the main thread as plaintext over loopback (handshakes and record encryption off the
   * thread that runs the filters, for a loopback hop and ~17% more CPU per TLS byte). Default main: on the bench
   * machine (2 cores) the worker measured no gain (BENCHMARKS.md, the TLS thread).
   */
  readonly thread: TlsThreadChoice
  readonly principal: PrincipalConfig
}

export const TLS_THREADS = ['worker', 'main'] as const
export type TlsThreadChoice = (typeof TLS_THREADS)[number]

export interface UpstreamTlsConfig {
  /** Default: true when any of ca, cert, key, servername is set, else false. */
  readonly enabled: boolean
  /** Absolute paths (relative ones are resolved against the config file's directory). */
  readonly ca?: string
  readonly cert?: string
  readonly key?: string
  /** SNI and the name checked against the certificate; default: the host being connected to. */
  readonly servername?: string
  readonly verifyHostname: boolean
  /** Accept any certificate. For tests only; the sidecar logs a warning when it is on. */
  readonly insecureSkipVerify: boolean
}

export const LISTEN_TLS_DEFAULTS = {
  minVersion: 'TLSv1.2' as TlsVersion,
  handshakeTimeoutMs: 10_000,
  // ~2-5 ms of CPU a handshake on the bench machine: at most a quarter of a core while flooded, and a pod's clients
  // reconnecting after a restart (a connection per broker each) are through within seconds.
  maxHandshakesPerSecond: 50,
  // ~45 KB of TLS state each: at most ~12 MB for connections that stop mid-handshake.
  maxPendingHandshakes: 256,
  thread: 'main' as TlsThreadChoice,
  principalFrom: ['spiffe', 'cn'] as readonly PrincipalSource[],
} as const

export function listenTlsSection(
  v: Validator,
  value: unknown,
  at: readonly PathSegment[],
  options: ValidateOptions,
): ListenTlsConfig {
  const keys = [
    'cert',
    'key',
    'ca',
    'requireClientCert',
    'minVersion',
    'ciphers',
    'handshakeTimeoutMs',
    'maxHandshakesPerSecond',
    'maxPendingHandshakes',
    'thread',
    'principal',
  ]
  const m = v.mapping(value, at, keys)
  const before = v.issues.length
  const cert = tlsFile(v, m, at, 'cert', options)
  const key = tlsFile(v, m, at, 'key', options)
  const ca = tlsFile(v, m, at, 'ca', options)
  for (const [k, got] of [
    ['cert', cert],
    ['key', key],
  ] as const) {
    if (got === undefined && v.isMapping(value)) {
      v.fail(
        [...at, k],
        `missing: a TLS listener needs its ${k === 'cert' ? 'certificate' : 'private key'} (a PEM file; kafka-sidecar certs init makes a development set)`,
      )
    }
  }
  const requireClientCert = v.bool(m.requireClientCert, [...at, 'requireClientCert'], ca !== undefined)
  if (requireClientCert && ca === undefined) {
    v.fail([...at, 'requireClientCert'], 'true needs listen.tls.ca, the CA bundle that issues the client certificates')
  }
  const minVersion = v.choice(m.minVersion, [...at, 'minVersion'], LISTEN_TLS_DEFAULTS.minVersion, TLS_VERSIONS)
  const ciphers = v.optionalString(m.ciphers, [...at, 'ciphers'], 'an OpenSSL cipher list')
  const handshakeTimeoutMs = v.int(
    m.handshakeTimeoutMs,
    [...at, 'handshakeTimeoutMs'],
    LISTEN_TLS_DEFAULTS.handshakeTimeoutMs,
    100,
    600_000,
    'milliseconds',
  )
  const maxHandshakesPerSecond = v.int(
    m.maxHandshakesPerSecond,
    [...at, 'maxHandshakesPerSecond'],
    LISTEN_TLS_DEFAULTS.maxHandshakesPerSecond,
    0,
    1_000_000,
    'handshakes a second',
  )
  const maxPendingHandshakes = v.int(
    m.maxPendingHandshakes,
    [...at, 'maxPendingHandshakes'],
    LISTEN_TLS_DEFAULTS.maxPendingHandshakes,
    0,
    INT32_MAX,
    'connections',
  )
  if (m.principal !== undefined && m.principal !== null && ca === undefined) {
    v.fail(
      [...at, 'principal'],
      'principals come from client certificates: set listen.tls.ca so that clients are asked for one',
    )
  }
  const thread = v.choice(m.thread, [...at, 'thread'], LISTEN_TLS_DEFAULTS.thread, TLS_THREADS)
  const principal = principalSection(v, m.principal, [...at, 'principal'])
  // Contents (PEM parses, key matches, not expired, ciphers usable) only when every path is readable.
  if (options.checkFiles !== false && v.issues.length === before && cert !== undefined && key !== undefined) {
    const { problems } = readTlsMaterial({ cert, key, ca }, { minVersion, ciphers })
    for (const p of problems) v.fail([...at, p.key], p.message)
  }
  const tls: { -readonly [K in keyof ListenTlsConfig]: ListenTlsConfig[K] } = {
    cert: cert ?? '',
    key: key ?? '',
    requireClientCert,
    minVersion,
    handshakeTimeoutMs,
    maxHandshakesPerSecond,
    maxPendingHandshakes,
    thread,
    principal,
  }
  if (ca !== undefined) tls.ca = ca
  if (ciphers !== undefined) tls.ciphers = ciphers
  return tls
}

function principalSection(v: Validator, value: unknown, at: readonly PathSegment[]): PrincipalConfig {
  const m = v.mapping(value, at, ['from', 'rules'])
  let from: PrincipalSource[] = [...LISTEN_TLS_DEFAULTS.principalFrom]
  if (m.from !== undefined && m.from !== null) {
    // "spiffe,cn" (environment, flags) or a list.
    const items =
      typeof m.from === 'string'
        ? m.from
            .split(/[\s,]+/)
            .filter((s) => s !== '')
            .map((s, i) => ({ s, i }))
        : v.list(m.from, [...at, 'from'], `sources (${PRINCIPAL_SOURCES.join(', ')})`).map((s, i) => ({ s, i }))
    from = []
    for (const { s, i } of items) {
      const itemAt = typeof m.from === 'string' ? [...at, 'from'] : [...at, 'from', i]
      const source = v.choice(s, itemAt, 'cn', PRINCIPAL_SOURCES)
      if (from.includes(source)) v.fail(itemAt, `"${source}" is listed twice`)
      else from.push(source)
    }
    if (items.length === 0) v.fail([...at, 'from'], `empty: name at least one of ${PRINCIPAL_SOURCES.join(', ')}`)
  }
  const rules: PrincipalRuleConfig[] = []
  v.list(m.rules, [...at, 'rules'], 'rules ({ match, replace })').forEach((item, i) => {
    const ruleAt = [...at, 'rules', i]
    if (!v.isMapping(item)) {
      v.fail(ruleAt, `expected a mapping { match, replace }, got ${describeValue(item)}`)
      return
    }
    const r = v.mapping(item, ruleAt, ['match', 'replace'])
    const match = v.string(r.match, [...ruleAt, 'match'], '', 'a regular expression')
    if (r.match === undefined) v.fail([...ruleAt, 'match'], 'missing: the regular expression to match')
    const replace = typeof r.replace === 'string' ? r.replace : v.string(r.replace, [...ruleAt, 'replace'], '$&')
    if (r.replace === undefined) v.fail([...ruleAt, 'replace'], 'missing: the replacement (e.g. "$1/$2")')
    if (match === '') return
    const compiled = compileRule({ match, replace })
    if ('error' in compiled) {
      v.fail([...ruleAt, compiled.error.startsWith('replace') ? 'replace' : 'match'], compiled.error)
      return
    }
    rules.push({ match, replace })
  })
  return { from, rules }
}

/** A TLS file path: resolved against the config file's directory, checked to be readable. */
function tlsFile(
  v: Validator,
  m: Record<string, unknown>,
  at: readonly PathSegment[],
  k: 'ca' | 'cert' | 'key',
  options: ValidateOptions,
): string | undefined {
  const p = v.optionalString(m[k], [...at, k], 'a file path')
  if (p === undefined) return undefined
  const abs = isAbsolute(p) ? p : resolve(options.baseDir ?? process.cwd(), p)
  if (options.checkFiles !== false) {
    try {
      accessSync(abs, constants.R_OK)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error'
      v.fail([...at, k], `cannot read ${JSON.stringify(abs)} (${code}): check the path and its permissions`)
    }
  }
  return abs
}

/** upstream.tls: the CA that verifies the brokers and the client certificate the sidecar presents to them. */
export function upstreamTlsSection(
  v: Validator,
  value: unknown,
  at: readonly PathSegment[],
  options: ValidateOptions,
): UpstreamTlsConfig {
  const keys = ['enabled', 'ca', 'cert', 'key', 'servername', 'verifyHostname', 'insecureSkipVerify']
  const m = v.mapping(value, at, keys)
  const before = v.issues.length
  const file = (k: 'ca' | 'cert' | 'key'): string | undefined => tlsFile(v, m, at, k, options)
  const ca = file('ca')
  const cert = file('cert')
  const key = file('key')
  const servername = v.optionalString(m.servername, [...at, 'servername'], 'a host name')
  if ((cert === undefined) !== (key === undefined)) {
    v.fail(
      [...at, cert === undefined ? 'cert' : 'key'],
      'cert and key go together: set both for a client certificate, or neither',
    )
  }
  const implied = ca !== undefined || cert !== undefined || key !== undefined || servername !== undefined
  const tls: { -readonly [K in keyof UpstreamTlsConfig]: UpstreamTlsConfig[K] } = {
    enabled: v.bool(m.enabled, [...at, 'enabled'], implied),
    verifyHostname: v.bool(m.verifyHostname, [...at, 'verifyHostname'], true),
    insecureSkipVerify: v.bool(m.insecureSkipVerify, [...at, 'insecureSkipVerify'], false),
  }
  if (ca !== undefined) tls.ca = ca
  if (cert !== undefined) tls.cert = cert
  if (key !== undefined) tls.key = key
  if (servername !== undefined) tls.servername = servername
  // Contents (PEM parses, the key belongs to the certificate, not expired) once every path is readable.
  if (options.checkFiles !== false && tls.enabled && v.issues.length === before) {
    const { problems } = readTlsMaterial({ ca, cert, key })
    for (const p of problems) v.fail([...at, p.key], p.message)
  }
  return tls
}
