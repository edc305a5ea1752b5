import { describe, expect, it } from 'vitest'
import {
  type CertificateIdentity,
  certificateIdentity,
  compileRule,
  PrincipalMapper,
  parseSubjectAltName,
} from '../../src/tls/principal.js'

const id = (over: Partial<CertificateIdentity>): CertificateIdentity => ({
  spiffe: undefined,
  dns: [],
  cn: undefined,
  subject: '',
  ...over,
})

describe('parseSubjectAltName (Node subjectaltname strings)', () => {
  it('splits plain entries', () => {
    expect(parseSubjectAltName('DNS:localhost, IP Address:127.0.0.1, URI:spiffe://td/ns/a/sa/b')).toEqual([
      { type: 'DNS', value: 'localhost' },
      { type: 'IP Address', value: '127.0.0.1' },
      { type: 'URI', value: 'spiffe://td/ns/a/sa/b' },
    ])
  })

  it('reads JSON-quoted values, which may contain the separator (CVE-2021-44532 format)', () => {
    expect(parseSubjectAltName('URI:"spiffe://td/a, DNS:evil", DNS:ok')).toEqual([
      { type: 'URI', value: 'spiffe://td/a, DNS:evil' },
      { type: 'DNS', value: 'ok' },
    ])
    expect(parseSubjectAltName('DNS:"a\\u002cb"')).toEqual([{ type: 'DNS', value: 'a,b' }])
  })
})

describe('certificateIdentity', () => {
  it('takes the spiffe:// URI among URIs, every DNS name, the CN (first of several)', () => {
    const identity = certificateIdentity({
      subject: { CN: ['first', 'second'], O: 'example' },
      subjectaltname: 'URI:https://example.com/x, URI:spiffe://prod.example/ns/payments/sa/api, DNS:a.example, DNS:b',
    } as never)
    expect(identity).toEqual({
      spiffe: 'spiffe://prod.example/ns/payments/sa/api',
      dns: ['a.example', 'b'],
      cn: 'first',
      subject: 'CN=first, CN=second, O=example',
    })
  })
})

describe('PrincipalMapper', () => {
  const spiffeRule = { match: '^spiffe://[^/]+/ns/([^/]+)/sa/([^/]+)$', replace: '$1/$2' }

  it('uses the first source the certificate has, then the first matching rule', () => {
    const m = new PrincipalMapper({ from: ['spiffe', 'cn'], rules: [spiffeRule] })
    expect(m.map(id({ spiffe: 'spiffe://td/ns/x/sa/y', cn: 'alice' }))).toEqual({ principal: 'x/y', source: 'spiffe' })
    // No SPIFFE ID: the CN, which no rule matches, stays as it is.
    expect(m.map(id({ cn: 'alice' }))).toEqual({ principal: 'alice', source: 'cn' })
    expect(m.map(id({ dns: ['svc.local'] }))).toBeUndefined()
  })

  it('dns takes the first DNS SAN; rules may use named groups', () => {
    const m = new PrincipalMapper({
      from: ['dns'],
      rules: [{ match: '^(?<svc>[^.]+)\\.(?<ns>[^.]+)\\.svc\\.cluster\\.local$', replace: '$<ns>/$<svc>' }],
    })
    expect(m.map(id({ dns: ['orders.shop.svc.cluster.local', 'other'] }))?.principal).toBe('shop/orders')
  })

  it('compileRule names a bad pattern or a replacement that refers to a missing group', () => {
    expect(compileRule({ match: '([a-z', replace: '$1' })).toMatchObject({
      error: expect.stringContaining('is not a valid regular expression'),
    })
    expect(compileRule({ match: '^(a)$', replace: '$1-$2' })).toEqual({
      error: 'replace "$1-$2" uses $2, but the pattern has 1 group',
    })
    expect(compileRule({ match: '^(a)(b)?$', replace: '$2$1' })).toHaveProperty('regex')
  })
})
