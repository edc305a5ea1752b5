import { describe, expect, it } from 'vitest'
import type { ListenTlsConfig } from '../../src/config/tls-sections.js'
import { describeHandshakeFailure } from '../../src/server/tls-listener.js'
import { describeSocketError } from '../../src/server/upstream-connector.js'
import { tlsAlertCode } from '../../src/tls/alert-codes.js'

/**
 * One TLS alert, two spellings: OpenSSL 3.0 (Node 20) says ERR_SSL_SSLV3_ALERT_*, OpenSSL 3.2+ (Node 22+, the image's
 * Node 26) ERR_SSL_SSL/TLS_ALERT_*. Seen on Node 26.12.1: a TLS 1.2 client without a certificate got
 * ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE, and the sidecar's explanations did not recognise it.
 */
const alert = (code: string) => Object.assign(new Error(code.toLowerCase()), { code })

describe('TLS alert codes of either OpenSSL', () => {
  it('gives the OpenSSL 3.2+ alert names their OpenSSL 3.0 spelling and leaves every other code alone', () => {
    expect(tlsAlertCode('ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE')).toBe('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE')
    expect(tlsAlertCode('ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE')).toBe('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE')
    for (const code of ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'ECONNRESET'])
      expect(tlsAlertCode(code)).toBe(code)
    expect(tlsAlertCode(undefined)).toBeUndefined()
  })

  it('the upstream explanation of a refused client certificate is the same for both spellings', () => {
    for (const spelling of ['SSLV3', 'SSL/TLS'])
      for (const reason of ['HANDSHAKE_FAILURE', 'BAD_CERTIFICATE', 'CERTIFICATE_UNKNOWN']) {
        const err = alert(`ERR_SSL_${spelling}_ALERT_${reason}`)
        const without = { secureContext: () => undefined as never, verifyHostname: true, insecureSkipVerify: false }
        expect(describeSocketError(err, without)).toMatch(/requires a client certificate; set upstream.tls.cert/)
        expect(describeSocketError(err, { ...without, certFile: '/etc/c.pem' })).toMatch(
          /refused the sidecar's client certificate .* issue upstream.tls.cert \(\/etc\/c.pem\)/,
        )
      }
  })

  it("the listener's explanation of a client that rejects the sidecar's certificate is the same for both spellings", () => {
    for (const spelling of ['SSLV3', 'SSL/TLS'])
      for (const reason of ['BAD_CERTIFICATE', 'CERTIFICATE_UNKNOWN'])
        expect(
          describeHandshakeFailure(alert(`ERR_SSL_${spelling}_ALERT_${reason}`), {
            minVersion: 'TLSv1.2',
          } as ListenTlsConfig),
        ).toMatch(/the client does not accept the sidecar's certificate/)
  })
})
