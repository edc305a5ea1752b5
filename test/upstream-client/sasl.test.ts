import { describe, expect, it } from 'vitest'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import { SaslAuthenticationError } from '../../src/upstream-client/errors.js'
import { authenticate, PlainClient, type SaslChannel, ScramClient } from '../../src/upstream-client/sasl.js'

const text = (b: Buffer | null) => b?.toString('utf8')

describe('ScramClient against the RFC example exchanges', () => {
  it('RFC 5802 section 5 (SCRAM-SHA-1): same client-final, accepts the server signature', () => {
    const c = new ScramClient('sha1', 'user', 'pencil', 'fyko+d2lbbFgONRv9qkxdawL')
    expect(text(c.first())).toBe('n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL')
    const final = c.next(Buffer.from('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096'))
    expect(text(final)).toBe('c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=')
    expect(c.next(Buffer.from('v=rmF9pqV8S7suAoZWja4dJRkFsKQ='))).toBeNull()
  })

  it('RFC 7677 section 3 (SCRAM-SHA-256): same client-final, accepts the server signature', () => {
    const c = new ScramClient('sha256', 'user', 'pencil', 'rOprNGfwEbeRWgbNEkqO')
    expect(text(c.first())).toBe('n,,n=user,r=rOprNGfwEbeRWgbNEkqO')
    const final = c.next(
      Buffer.from('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'),
    )
    expect(text(final)).toBe(
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    )
    expect(c.next(Buffer.from('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='))).toBeNull()
  })

  const serverFirst = 'r=abcDEF,s=QSXCR+Q6sek8bf92,i=4096'

  it('refuses a server signature that does not match (a server that does not know the password)', () => {
    const c = new ScramClient('sha256', 'user', 'pencil', 'abc')
    c.first()
    c.next(Buffer.from(serverFirst))
    expect(() => c.next(Buffer.from('v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='))).toThrow(
      /signature does not match/,
    )
  })

  it('refuses a server nonce that does not extend its own, and fewer than 4096 iterations', () => {
    const a = new ScramClient('sha256', 'user', 'pencil', 'abc')
    a.first()
    expect(() => a.next(Buffer.from('r=xyzDEF,s=QSXCR+Q6sek8bf92,i=4096'))).toThrow(/nonce/)
    const b = new ScramClient('sha256', 'user', 'pencil', 'abc')
    b.first()
    expect(() => b.next(Buffer.from('r=abcDEF,s=QSXCR+Q6sek8bf92,i=1000'))).toThrow(/1000 SCRAM iterations/)
  })

  it('reports a server-final error', () => {
    const c = new ScramClient('sha512', 'user', 'pencil', 'abc')
    c.first()
    c.next(Buffer.from(serverFirst))
    expect(() => c.next(Buffer.from('e=invalid-proof'))).toThrow(/refused: invalid-proof/)
  })

  it('escapes = and , in the user name (RFC 5802 section 5.1)', () => {
    expect(text(new ScramClient('sha256', 'a=b,c', 'p', 'n').first())).toBe('n,,n=a=3Db=2Cc,r=n')
  })

  it('makes a fresh random nonce per exchange', () => {
    const one = text(new ScramClient('sha512', 'u', 'p').first())
    const two = text(new ScramClient('sha512', 'u', 'p').first())
    expect(one).toMatch(/^n,,n=u,r=[A-Za-z0-9+/=]{32}$/)
    expect(one).not.toBe(two)
  })
})

describe('PlainClient', () => {
  it('sends NUL user NUL password with an empty authorization id (RFC 4616)', () => {
    const c = new PlainClient('alice', 'alice-secret')
    expect(c.first()).toEqual(Buffer.from('\0alice\0alice-secret'))
    expect(c.next()).toBeNull()
  })
})

/** A broker side of the exchange, answering from a script. */
function channel(
  answers: Record<number, (body: { mechanism?: string; authBytes?: Buffer }) => unknown>,
  versions: Record<number, number> = { [ApiKey.SaslHandshake]: 1, [ApiKey.SaslAuthenticate]: 2 },
): SaslChannel & { sent: { apiKey: number; version: number; body: unknown }[] } {
  const sent: { apiKey: number; version: number; body: unknown }[] = []
  return {
    target: { host: 'broker', port: 9092 },
    sent,
    negotiatedVersion: (key) => versions[key],
    request: async (apiKey, version, body) => {
      sent.push({ apiKey, version, body })
      return answers[apiKey]!(body as never)
    },
  }
}

describe('authenticate', () => {
  it('PLAIN: SaslHandshake v1 then one SaslAuthenticate; keeps the session lifetime', async () => {
    const ch = channel({
      [ApiKey.SaslHandshake]: () => ({ errorCode: 0, mechanisms: ['PLAIN'] }),
      [ApiKey.SaslAuthenticate]: () => ({
        errorCode: 0,
        errorMessage: null,
        authBytes: Buffer.alloc(0),
        sessionLifetimeMs: 60_000n,
      }),
    })
    const session = await authenticate(ch, { mechanism: 'PLAIN', username: 'u', password: 'p' })
    expect(session.sessionLifetimeMs).toBe(60_000)
    expect(ch.sent.map((s) => [s.apiKey, s.version])).toEqual([
      [ApiKey.SaslHandshake, 1],
      [ApiKey.SaslAuthenticate, 2],
    ])
    expect(ch.sent[0]!.body).toEqual({ mechanism: 'PLAIN' })
  })

  it('names the mechanisms the listener offers when ours is not among them', async () => {
    const ch = channel({ [ApiKey.SaslHandshake]: () => ({ errorCode: 33, mechanisms: ['SCRAM-SHA-512'] }) })
    const err = await authenticate(ch, { mechanism: 'PLAIN', username: 'u', password: 'p' }).catch((e) => e)
    expect(err).toBeInstanceOf(SaslAuthenticationError)
    expect(err.code).toBe('KSC_ERR_UPSTREAM_CLIENT_SASL')
    expect(err.message).toMatch(/does not enable PLAIN; it offers SCRAM-SHA-512/)
  })

  it('passes the broker message on SASL_AUTHENTICATION_FAILED, and never the password', async () => {
    const ch = channel({
      [ApiKey.SaslHandshake]: () => ({ errorCode: 0, mechanisms: ['PLAIN'] }),
      [ApiKey.SaslAuthenticate]: () => ({
        errorCode: 58,
        errorMessage: 'Authentication failed: Invalid username or password',
        authBytes: Buffer.alloc(0),
      }),
    })
    const err = await authenticate(ch, { mechanism: 'PLAIN', username: 'u', password: 'hunter2' }).catch((e) => e)
    expect(err.message).toMatch(/Invalid username or password/)
    expect(err.message).not.toContain('hunter2')
  })

  it('refuses a listener without SaslHandshake v1 (tokens would travel as bare frames)', async () => {
    const ch = channel({}, { [ApiKey.SaslHandshake]: 0, [ApiKey.SaslAuthenticate]: 0 })
    await expect(authenticate(ch, { mechanism: 'PLAIN', username: 'u', password: 'p' })).rejects.toThrow(
      /no SaslHandshake v1/,
    )
  })
})
