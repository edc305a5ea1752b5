import crypto from 'node:crypto'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { HostPort } from '../config/host-port.js'
import { SaslAuthenticationError } from './errors.js'
import { KafkaError } from './kafka-errors.js'

/**
 * SASL for the sidecar's own connections: SaslHandshake v1 names the mechanism, then every token travels in a
 * SaslAuthenticate request (KIP-152), so the exchange is ordinary request/response traffic. Mechanisms:
 *   PLAIN (RFC 4616): one message, authzid NUL authcid NUL password; the authzid is left empty.
 *   SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677; Kafka: KIP-84): client-first, server-first,
 *     client-final, server-final; no channel binding (gs2 header "n,,").
 * Credentials never appear in errors or logs.
 */

export type SaslMechanismName = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'

export interface SaslCredentials {
  mechanism: SaslMechanismName
  username: string
  password: string
}

/** What authenticate() needs from a connection: requests before the connection is handed out. */
export interface SaslChannel {
  readonly target: HostPort
  /** Highest version both sides support, or undefined when the broker does not offer the API. */
  negotiatedVersion(apiKey: number): number | undefined
  request(apiKey: number, version: number, body: unknown): Promise<unknown>
}

export interface SaslSession {
  /** KIP-368: the broker closes the connection this long after authentication (0: never). */
  sessionLifetimeMs: number
}

/** A client mechanism: the first token, then one answer per server challenge until done. */
interface ClientMechanism {
  first(): Buffer
  /** The next token, or null when the exchange is complete (the server's last message checked). */
  next(challenge: Buffer): Buffer | null
}

export async function authenticate(channel: SaslChannel, credentials: SaslCredentials): Promise<SaslSession> {
  const { mechanism } = credentials
  const fail = (why: string) => new SaslAuthenticationError(channel.target, mechanism, why)
  const handshakeVersion = channel.negotiatedVersion(ApiKey.SaslHandshake)
  const authenticateVersion = channel.negotiatedVersion(ApiKey.SaslAuthenticate)
  // SaslHandshake v0 would send the tokens as bare frames; v1 promises SaslAuthenticate (KIP-152).
  if (handshakeVersion === undefined || handshakeVersion < 1 || authenticateVersion === undefined)
    throw fail('the broker offers no SaslHandshake v1 / SaslAuthenticate (is this a SASL listener of Kafka 1.0+?)')

  const handshake = (await channel.request(ApiKey.SaslHandshake, 1, { mechanism })) as {
    errorCode: number
    mechanisms: string[]
  }
  if (handshake.errorCode === KafkaError.UNSUPPORTED_SASL_MECHANISM)
    throw fail(`the listener does not enable ${mechanism}; it offers ${handshake.mechanisms.join(', ') || 'none'}`)
  if (handshake.errorCode === KafkaError.ILLEGAL_SASL_STATE)
    throw fail('the listener does not expect SASL (is it a PLAINTEXT or SSL listener?)')
  if (handshake.errorCode !== 0) throw fail(`SaslHandshake error ${handshake.errorCode}`)

  const client = clientMechanism(credentials)
  let token: Buffer | null = client.first()
  let lifetime = 0
  while (token !== null) {
    const res = (await channel.request(ApiKey.SaslAuthenticate, authenticateVersion, { authBytes: token })) as {
      errorCode: number
      errorMessage: string | null
      authBytes: Buffer
      sessionLifetimeMs?: bigint
    }
    if (res.errorCode !== 0) {
      const detail = res.errorMessage ?? `error ${res.errorCode}`
      throw fail(
        res.errorCode === KafkaError.SASL_AUTHENTICATION_FAILED
          ? `${detail} (check the username and password, and that the user exists for this mechanism)`
          : detail,
      )
    }
    lifetime = Number(res.sessionLifetimeMs ?? 0n)
    try {
      token = client.next(res.authBytes)
    } catch (err) {
      throw fail((err as Error).message)
    }
  }
  return { sessionLifetimeMs: lifetime }
}

function clientMechanism(c: SaslCredentials): ClientMechanism {
  switch (c.mechanism) {
    case 'PLAIN':
      return new PlainClient(c.username, c.password)
    case 'SCRAM-SHA-256':
      return new ScramClient('sha256', c.username, c.password)
    case 'SCRAM-SHA-512':
      return new ScramClient('sha512', c.username, c.password)
  }
}

/** RFC 4616 section 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd. */
export class PlainClient implements ClientMechanism {
  constructor(
    private readonly username: string,
    private readonly password: string,
  ) {}

  first(): Buffer {
    return Buffer.from(`\0${this.username}\0${this.password}`, 'utf8')
  }

  /** The broker answers PLAIN with an empty token; nothing follows. */
  next(): null {
    return null
  }
}

/**
 * Kafka's broker refuses fewer iterations than 4096 (ScramMechanism.minIterations); a server-first message asking
 * for fewer is not from a Kafka broker, or is a downgrade attempt.
 */
const MIN_ITERATIONS = 4096

/**
 * RFC 5802 section 3 (the algorithm) and 7 (the grammar), client side, without channel binding:
 *   client-first  = "n,," "n=" saslname ",r=" c-nonce
 *   server-first  = "r=" c-nonce s-nonce ",s=" salt(base64) ",i=" iterations [,extensions]
 *   client-final  = "c=biws,r=" nonce ",p=" base64(ClientKey XOR HMAC(H(ClientKey), AuthMessage))
 *   server-final  = "v=" base64(HMAC(ServerKey, AuthMessage))  |  "e=" error
 * SaltedPassword = PBKDF2-HMAC-H(password, salt, i); ClientKey = HMAC(SaltedPassword, "Client Key");
 * ServerKey = HMAC(SaltedPassword, "Server Key"); AuthMessage = client-first-bare "," server-first ","
 * client-final-without-proof. "biws" is base64("n,,"). The password is used as UTF-8 without SASLprep, as Kafka's
 * ScramFormatter does; the user name is escaped (= as =3D, "," as =2C; section 5.1).
 */
export class ScramClient implements ClientMechanism {
  private state: 'initial' | 'first-sent' | 'final-sent' | 'done' = 'initial'
  private readonly clientFirstBare: string
  private readonly nonce: string
  private serverSignature: Buffer | undefined

  constructor(
    private readonly hash: 'sha1' | 'sha256' | 'sha512',
    username: string,
    private readonly password: string,
    /** For tests with the RFCs' example exchanges; otherwise 24 random bytes. */
    nonce?: string,
  ) {
    this.nonce = nonce ?? crypto.randomBytes(24).toString('base64')
    this.clientFirstBare = `n=${username.replaceAll('=', '=3D').replaceAll(',', '=2C')},r=${this.nonce}`
  }

  first(): Buffer {
    if (this.state !== 'initial') throw new Error('SCRAM client-first already sent')
    this.state = 'first-sent'
    return Buffer.from(`n,,${this.clientFirstBare}`, 'utf8')
  }

  next(challenge: Buffer): Buffer | null {
    if (this.state === 'first-sent') return this.clientFinal(challenge.toString('utf8'))
    if (this.state === 'final-sent') {
      this.verifyServerFinal(challenge.toString('utf8'))
      return null
    }
    throw new Error(`unexpected SCRAM message in state ${this.state}`)
  }

  private clientFinal(serverFirst: string): Buffer {
    const fields = scramAttributes(serverFirst)
    const nonce = fields.get('r')
    const salt = fields.get('s')
    const iterations = Number(fields.get('i'))
    if (nonce === undefined || salt === undefined || !Number.isInteger(iterations))
      throw new Error('malformed SCRAM server-first message')
    if (!nonce.startsWith(this.nonce) || nonce.length === this.nonce.length)
      throw new Error('the SCRAM server nonce does not extend the client nonce')
    if (iterations < MIN_ITERATIONS)
      throw new Error(`the server asked for ${iterations} SCRAM iterations, fewer than ${MIN_ITERATIONS}`)
    const digestBytes = crypto.createHash(this.hash).digest().length
    const salted = crypto.pbkdf2Sync(this.password, Buffer.from(salt, 'base64'), iterations, digestBytes, this.hash)
    const clientKey = this.hmac(salted, 'Client Key')
    const storedKey = crypto.createHash(this.hash).update(clientKey).digest()
    const withoutProof = `c=biws,r=${nonce}`
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`
    const signature = this.hmac(storedKey, authMessage)
    const proof = Buffer.alloc(clientKey.length)
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ signature[i]!
    this.serverSignature = this.hmac(this.hmac(salted, 'Server Key'), authMessage)
    this.state = 'final-sent'
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8')
  }

  private verifyServerFinal(serverFinal: string): void {
    const fields = scramAttributes(serverFinal)
    const error = fields.get('e')
    if (error !== undefined) throw new Error(`the server refused: ${error}`)
    const v = fields.get('v')
    if (v === undefined) throw new Error('malformed SCRAM server-final message')
    const got = Buffer.from(v, 'base64')
    if (got.length !== this.serverSignature!.length || !crypto.timingSafeEqual(got, this.serverSignature!))
      throw new Error(
        'the server signature does not match: the broker does not know this password (or is not the broker)',
      )
    this.state = 'done'
  }

  private hmac(key: Buffer, data: string): Buffer {
    return crypto.createHmac(this.hash, key).update(data, 'utf8').digest()
  }
}

/** `a=value,b=value`: values may contain "=" (base64), so split each attribute at its first "=". */
function scramAttributes(message: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const part of message.split(',')) {
    const eq = part.indexOf('=')
    if (eq === 1) out.set(part[0]!, part.slice(2))
  }
  return out
}
