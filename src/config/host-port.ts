import { isIP } from 'node:net'

export interface HostPort {
  /** Host name or IP address; IPv6 without brackets (as `net.connect` and `server.listen` take it). */
  readonly host: string
  readonly port: number
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/

/** A host name or IP address as `net` accepts it; `[::1]` is accepted and unwrapped. Returns undefined when invalid. */
export function parseHost(text: string): string | undefined {
  const s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text
  if (isIP(s) !== 0) return s
  if (s !== text) return undefined // brackets around something that is not an IPv6 address
  return HOSTNAME.test(s) ? s : undefined
}

/** True for 0.0.0.0 and :: (bind to every interface): such a host cannot be told to clients. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '0:0:0:0:0:0:0:0'
}

/** `host:port` as it is written back for humans; IPv6 in brackets. */
export function formatHostPort(hp: HostPort): string {
  return isIP(hp.host) === 6 ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`
}

/**
 * Parses `host:port` or `[ipv6]:port`. Returns the parsed value, or the reason it is not one, phrased to follow
 * `"<value>" is not a valid host:port`.
 */
export function parseHostPort(text: string): HostPort | { error: string } {
  const s = text.trim()
  let hostPart: string
  let portPart: string
  if (s.startsWith('[')) {
    const close = s.indexOf(']')
    if (close < 0 || s[close + 1] !== ':') return { error: 'expected [ipv6]:port' }
    hostPart = s.slice(1, close)
    portPart = s.slice(close + 2)
    if (isIP(hostPart) !== 6) return { error: `"${hostPart}" in brackets is not an IPv6 address` }
  } else {
    const colon = s.lastIndexOf(':')
    if (colon < 0) return { error: 'the port is missing (expected host:port)' }
    hostPart = s.slice(0, colon)
    portPart = s.slice(colon + 1)
    if (hostPart.includes(':')) return { error: 'an IPv6 address needs brackets, e.g. [::1]:9092' }
    if (hostPart === '') return { error: 'the host is missing (expected host:port)' }
    if (parseHost(hostPart) === undefined) return { error: `"${hostPart}" is not a host name or IP address` }
  }
  if (!/^\d{1,5}$/.test(portPart)) return { error: 'the port must be a number 1-65535' }
  const port = Number(portPart)
  if (port < 1 || port > 65535) return { error: 'port must be 1-65535' }
  return { host: hostPart, port }
}
