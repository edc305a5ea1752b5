import type tls from 'node:tls'

/**
 * The principal of a TLS client: the identity every later filter (rate limits, canary routing, audit) and the
 * statistics use. It comes from the client certificate, from the first of `from` the certificate has:
 *   spiffe  the SPIFFE ID, a URI SAN spiffe://<trust domain>/<path>. An X.509-SVID carries exactly one URI SAN
 *           (SPIFFE X509-SVID spec, section 2), so the first spiffe:// URI is taken.
 *   dns     the first DNS SAN
 *   cn      the subject's common name
 * then rewritten by the first rule whose pattern matches (JavaScript RegExp, `replace` may use $1, $<name>), like
 * Kafka's ssl.principal.mapping.rules. No rule matching keeps the identity as it is.
 */

export const PRINCIPAL_SOURCES = ['spiffe', 'dns', 'cn'] as const
export type PrincipalSource = (typeof PRINCIPAL_SOURCES)[number]

export interface PrincipalRuleConfig {
  /** A regular expression over the identity; anchor it (^...$) to rewrite the whole identity. */
  readonly match: string
  /** The replacement; $1, $2, $<name> refer to the pattern's groups. */
  readonly replace: string
}

export interface PrincipalConfig {
  /** Where the identity comes from, first present wins. */
  readonly from: readonly PrincipalSource[]
  readonly rules: readonly PrincipalRuleConfig[]
}

/** The identities a certificate carries, as the principal mapping sees them. */
export interface CertificateIdentity {
  readonly spiffe: string | undefined
  readonly dns: readonly string[]
  readonly cn: string | undefined
  /** `CN=alice, O=example`, for logs. */
  readonly subject: string
}

/**
 * Compiles a rule; returns an error message instead when the pattern is not a valid RegExp or the replacement
 * refers to a group the pattern does not have.
 */
export function compileRule(rule: PrincipalRuleConfig): { regex: RegExp; replace: string } | { error: string } {
  let regex: RegExp
  try {
    regex = new RegExp(rule.match)
  } catch (err) {
    return { error: `${JSON.stringify(rule.match)} is not a valid regular expression (${(err as Error).message})` }
  }
  // Group count: an alternative that matches the empty string makes exec() report every group (undefined).
  const groups = new RegExp(`${rule.match}|`).exec('')!.length - 1
  for (const m of rule.replace.matchAll(/\$(\d{1,2})/g)) {
    const n = Number(m[1])
    if (n > groups) {
      return {
        error: `replace ${JSON.stringify(rule.replace)} uses $${n}, but the pattern has ${groups} group${groups === 1 ? '' : 's'}`,
      }
    }
  }
  return { regex, replace: rule.replace }
}

/** Maps certificates to principals with one configuration (rules compiled once). */
export class PrincipalMapper {
  private readonly rules: { regex: RegExp; replace: string }[]

  /** Throws on an invalid rule (the config validator reports those first, with the key). */
  constructor(readonly config: PrincipalConfig) {
    this.rules = config.rules.map((r, i) => {
      const compiled = compileRule(r)
      if ('error' in compiled) throw new Error(`principal.rules[${i}]: ${compiled.error}`)
      return compiled
    })
  }

  /** The principal, or undefined when the certificate has none of `from`. */
  map(identity: CertificateIdentity): { principal: string; source: PrincipalSource } | undefined {
    for (const source of this.config.from) {
      const raw = source === 'dns' ? identity.dns[0] : identity[source]
      if (raw === undefined || raw === '') continue
      return { principal: this.apply(raw), source }
    }
    return undefined
  }

  private apply(identity: string): string {
    for (const rule of this.rules) {
      if (rule.regex.test(identity)) return identity.replace(rule.regex, rule.replace)
    }
    return identity
  }
}

/** The identities in a peer certificate as Node reports it (tls.TLSSocket#getPeerCertificate). */
export function certificateIdentity(cert: tls.PeerCertificate): CertificateIdentity {
  const names = cert.subjectaltname ? parseSubjectAltName(cert.subjectaltname) : []
  const uris = names.filter((n) => n.type === 'URI').map((n) => n.value)
  const cn = cert.subject?.CN as string | string[] | undefined
  return {
    spiffe: uris.find((u) => /^spiffe:\/\/[^/]+/i.test(u)),
    dns: names.filter((n) => n.type === 'DNS').map((n) => n.value),
    cn: Array.isArray(cn) ? cn[0] : cn,
    subject: describeName(cert.subject),
  }
}

/** `CN=alice, O=example` from Node's name object (attributes may repeat: arrays). */
export function describeName(name: tls.Certificate | undefined): string {
  if (name === undefined || name === null) return ''
  return Object.entries(name)
    .flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => `${k}=${x}`) : [`${k}=${v}`]))
    .join(', ')
}

/**
 * Splits Node's subjectaltname string ("DNS:a, IP Address:127.0.0.1, URI:spiffe://td/x") into entries. Since
 * Node 17.3.1/16.13.2 (CVE-2021-44532) a value with characters that would be ambiguous here is written as a JSON
 * string literal (`URI:"spiffe://td/a, b"`); this follows Node's own splitEscapedAltNames in lib/tls.js.
 */
export function parseSubjectAltName(text: string): { type: string; value: string }[] {
  const entries: string[] = []
  let token = ''
  let offset = 0
  while (offset < text.length) {
    const sep = text.indexOf(', ', offset)
    const quote = text.indexOf('"', offset)
    if (quote !== -1 && (sep === -1 || quote < sep)) {
      token += text.slice(offset, quote)
      const m = JSON_STRING.exec(text.slice(quote))
      if (m === null) {
        // Not Node's format: keep the rest as it is rather than guess.
        token += text.slice(quote)
        offset = text.length
        continue
      }
      token += JSON.parse(m[0]) as string
      offset = quote + m[0].length
    } else if (sep !== -1) {
      entries.push(token + text.slice(offset, sep))
      token = ''
      offset = sep + 2
    } else {
      entries.push(token + text.slice(offset))
      token = ''
      offset = text.length
    }
  }
  if (token !== '') entries.push(token)
  return entries.map((e) => {
    const colon = e.indexOf(':')
    return colon === -1 ? { type: e, value: '' } : { type: e.slice(0, colon), value: e.slice(colon + 1) }
  })
}

const JSON_STRING = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/
