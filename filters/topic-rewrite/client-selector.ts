import { createHash } from 'node:crypto'
import { type ClientSelectionConfig, fullMatch } from './config.js'

/**
 * Which clients a rule applies to. A client is a candidate when it matches one of the listed client ids, client id
 * patterns, principals or principal patterns (every client is, when none is listed); `percent` of the candidates are
 * then chosen by a hash of the client id. The hash depends only on the seed and the client id, so a client id is on
 * the same side on every connection, after a restart and on every sidecar with the same rule.
 */
export class ClientSelector {
  private readonly ids: ReadonlySet<string>
  private readonly idPatterns: readonly RegExp[]
  private readonly principals: ReadonlySet<string>
  private readonly principalPatterns: readonly RegExp[]
  private readonly listed: boolean

  constructor(private readonly config: ClientSelectionConfig) {
    this.ids = new Set(config.ids)
    this.idPatterns = config.idPatterns.map((p) => fullMatch(p, 'idPatterns'))
    this.principals = new Set(config.principals)
    this.principalPatterns = config.principalPatterns.map((p) => fullMatch(p, 'principalPatterns'))
    this.listed =
      config.ids.length + config.idPatterns.length + config.principals.length + config.principalPatterns.length > 0
  }

  /** `clientId` null (a client that sends none) hashes as the empty string. */
  selects(clientId: string | null, principal: string | undefined): boolean {
    const id = clientId ?? ''
    if (this.listed && !this.candidate(id, principal)) return false
    if (this.config.percent >= 100) return true
    if (this.config.percent <= 0) return false
    return percentBucket(this.config.seed, id) < Math.round(this.config.percent * 100)
  }

  private candidate(id: string, principal: string | undefined): boolean {
    if (this.ids.has(id) || this.idPatterns.some((re) => re.test(id))) return true
    if (principal === undefined) return false
    return this.principals.has(principal) || this.principalPatterns.some((re) => re.test(principal))
  }
}

/**
 * A client id's bucket, 0-9999 (hundredths of a percent): the first 32 bits of SHA-256(seed, NUL, client id) modulo
 * 10,000. SHA-256 rather than a fast non-cryptographic hash because it is the same in every runtime and release and
 * evenly spread for ids that differ in one character (pod names); it runs once per connection.
 */
export function percentBucket(seed: string, clientId: string): number {
  const digest = createHash('sha256').update(seed).update('\u0000').update(clientId).digest()
  return digest.readUInt32BE(0) % 10_000
}
