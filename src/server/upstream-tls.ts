/**
 * The TLS the sidecar speaks towards the brokers (upstream.tls): one secure context, rebuilt only when the certificate
 * files change, and a warning at start-up for each setting that weakens how brokers are verified.
 */
import tls from 'node:tls'
import type { Logger } from 'pino'
import type { UpstreamTlsConfig } from '../config/tls-sections.js'
import { ReloadingTlsMaterial } from '../tls/reloading-material.js'
import type { UpstreamTls } from './upstream-connector.js'

/** Undefined when upstream.tls is off; `material` must be closed with the sidecar, it watches the files. */
export function upstreamTls(
  t: UpstreamTlsConfig,
  log: Logger,
): { tls: UpstreamTls; material: ReloadingTlsMaterial } | undefined {
  if (!t.enabled) return undefined
  if (t.insecureSkipVerify) {
    log.warn(
      'upstream.tls.insecureSkipVerify is on: broker certificates are NOT verified; never use this in production',
    )
  } else if (!t.verifyHostname) {
    log.warn('upstream.tls.verifyHostname is off: broker certificates are not checked against the broker host name')
  }
  // Built once and again only when the files change (not per connection); a broken new file keeps the old context.
  const material = new ReloadingTlsMaterial({
    section: 'upstream.tls',
    files: {
      ...(t.ca !== undefined && { ca: t.ca }),
      ...(t.cert !== undefined && { cert: t.cert }),
      ...(t.key !== undefined && { key: t.key }),
    },
    log,
  })
  let context = tls.createSecureContext(material.current.contextOptions)
  material.on('reloaded', (m) => {
    context = tls.createSecureContext(m.contextOptions)
  })
  material.start()
  return {
    material,
    tls: {
      secureContext: () => context,
      servername: t.servername,
      verifyHostname: t.verifyHostname,
      insecureSkipVerify: t.insecureSkipVerify,
      caFile: t.ca,
      certFile: t.cert,
    },
  }
}
