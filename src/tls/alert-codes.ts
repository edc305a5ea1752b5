/**
 * The error code Node gives a TLS alert received from the peer depends on the OpenSSL it is built with. Node makes
 * `err.code` from OpenSSL's reason string (`ERR_SSL_` + the reason in upper case, spaces as underscores), and
 * OpenSSL 3.2 renamed the reasons of the alerts SSLv3 defined from "sslv3 alert ..." to "ssl/tls alert ..."
 * (ssl/ssl_err.c; "tlsv1 alert ..." kept its name). So one alert reads `ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE` on
 * Node 20 (OpenSSL 3.0.19 here) and `ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE` on Node 26 (OpenSSL 3.5.9), the image's.
 * The sidecar recognises alerts by the older spelling, whichever it got.
 */
const RENAMED_ALERT_PREFIX = 'ERR_SSL_SSL/TLS_ALERT_'
const ALERT_PREFIX = 'ERR_SSL_SSLV3_ALERT_'

/** `code` with an OpenSSL 3.2+ alert name given its OpenSSL 3.0 spelling; any other code unchanged. */
export function tlsAlertCode(code: string | undefined): string | undefined {
  return code?.startsWith(RENAMED_ALERT_PREFIX) ? ALERT_PREFIX + code.slice(RENAMED_ALERT_PREFIX.length) : code
}
