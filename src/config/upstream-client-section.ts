import { readFileSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import type { PathSegment, Validator } from './validator.js'

export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const
export type SaslMechanism = (typeof SASL_MECHANISMS)[number]

/**
 * upstream.client: the sidecar's own connections to the cluster (for filters that produce or look up on their own:
 * tap, shadow produce), with the upstream TLS settings and credentials of their own, never a client's.
 */
export interface UpstreamClientConfig {
  readonly clientId: string
  readonly sasl?: { readonly mechanism: SaslMechanism; readonly username: string; readonly password: string }
  readonly requestTimeoutMs: number
  readonly metadataMaxAgeMs: number
}

export const UPSTREAM_CLIENT_DEFAULTS: UpstreamClientConfig = {
  clientId: 'kafka-sidecar',
  requestTimeoutMs: 30_000,
  metadataMaxAgeMs: 300_000,
}

/** The environment variable a password may come from, so it need not sit in the file. */
export const UPSTREAM_CLIENT_PASSWORD_ENV = 'KAFKA_SIDECAR_UPSTREAM_CLIENT_PASSWORD'

export function upstreamClientSection(
  v: Validator,
  value: unknown,
  at: readonly PathSegment[],
  options: { readonly baseDir?: string; readonly env?: Readonly<Record<string, string | undefined>> },
): UpstreamClientConfig {
  const m = v.mapping(value, at, ['clientId', 'sasl', 'requestTimeoutMs', 'metadataMaxAgeMs'])
  const d = UPSTREAM_CLIENT_DEFAULTS
  const config: UpstreamClientConfig = {
    clientId: v.string(m.clientId, [...at, 'clientId'], d.clientId, 'a client id'),
    requestTimeoutMs: v.int(m.requestTimeoutMs, [...at, 'requestTimeoutMs'], d.requestTimeoutMs, 100, 2 ** 31 - 1),
    metadataMaxAgeMs: v.int(m.metadataMaxAgeMs, [...at, 'metadataMaxAgeMs'], d.metadataMaxAgeMs, 1000, 2 ** 31 - 1),
  }
  if (m.sasl === undefined || m.sasl === null) return config
  const sat = [...at, 'sasl']
  const s = v.mapping(m.sasl, sat, ['mechanism', 'username', 'password', 'passwordFile'])
  const mechanism = v.choice(s.mechanism, [...sat, 'mechanism'], 'SCRAM-SHA-512', SASL_MECHANISMS)
  const username = v.string(s.username, [...sat, 'username'], '', 'a user name')
  if (s.username === undefined) v.fail([...sat, 'username'], 'is missing: the user the sidecar logs in as')
  const password = passwordOf(v, s, sat, options)
  return { ...config, sasl: { mechanism, username, password } }
}

/** From `password`, `passwordFile` (read now, relative to the config file) or the environment, in that order. */
function passwordOf(
  v: Validator,
  s: Record<string, unknown>,
  at: readonly PathSegment[],
  options: { readonly baseDir?: string; readonly env?: Readonly<Record<string, string | undefined>> },
): string {
  if (s.password !== undefined && s.passwordFile !== undefined) {
    v.fail(at, 'has both password and passwordFile: keep one')
    return ''
  }
  if (s.password !== undefined) return v.string(s.password, [...at, 'password'], '', 'a password')
  if (s.passwordFile !== undefined) {
    const file = v.string(s.passwordFile, [...at, 'passwordFile'], '', 'a file path')
    if (file === '') return ''
    const abs = isAbsolute(file) ? file : resolve(options.baseDir ?? process.cwd(), file)
    try {
      // A trailing newline is what editors and `kubectl create secret --from-file` leave; it is not the password's.
      return readFileSync(abs, 'utf8').replace(/\r?\n$/, '')
    } catch (err) {
      v.fail(
        [...at, 'passwordFile'],
        `cannot read ${JSON.stringify(abs)} (${(err as NodeJS.ErrnoException).code}): check the path`,
      )
      return ''
    }
  }
  const fromEnv = (options.env ?? process.env)[UPSTREAM_CLIENT_PASSWORD_ENV]
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  v.fail(at, `needs a password: password, passwordFile, or the environment variable ${UPSTREAM_CLIENT_PASSWORD_ENV}`)
  return ''
}
