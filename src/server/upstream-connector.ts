import net from 'node:net'
import tls from 'node:tls'
import { formatHostPort, type HostPort } from '../config/host-port.js'
import { SidecarError } from '../errors.js'
import { tlsAlertCode } from '../tls/alert-codes.js'

/** TLS towards the brokers. Verification is on unless explicitly (and loudly) turned off. */
export interface UpstreamTls {
  /** Current secure context (CA, client certificate); a function so rotated files take effect for new connections. */
  secureContext: () => tls.SecureContext
  /** SNI and the name the broker certificate must carry; default: the host connected to. */
  servername?: string
  /** Check the broker certificate names the host (default true). */
  verifyHostname: boolean
  /** Accept any broker certificate (default false). */
  insecureSkipVerify: boolean
  /** The CA file in use (upstream.tls.ca), named in errors; undefined: the system's CAs. */
  caFile?: string | undefined
  /** The client certificate file (upstream.tls.cert), named in errors; undefined: none is presented. */
  certFile?: string | undefined
}

export class UpstreamConnectError extends SidecarError {
  readonly target: HostPort
  constructor(target: HostPort, why: string, cause?: unknown) {
    super('KSC_ERR_UPSTREAM_CONNECT', `cannot connect to broker ${formatHostPort(target)}: ${why}`, { cause })
    this.target = target
  }
}

/** Opens connections to brokers, plain or TLS, with a connect timeout. */
export class UpstreamConnector {
  constructor(
    private readonly connectTimeoutMs: number,
    private readonly tlsOptions: UpstreamTls | undefined,
  ) {}

  get usesTls(): boolean {
    return this.tlsOptions !== undefined
  }

  /** The error for a failure on `target`, explained as connect() explains its own (for TLS alerts after connect). */
  failure(target: HostPort, err: Error & { code?: string }): UpstreamConnectError {
    return new UpstreamConnectError(target, describeSocketError(err, this.tlsOptions), err)
  }

  /**
   * `onread` (plain connections only; ignored with TLS, whose sockets do not take it): read into caller-supplied
   * memory instead of emitting 'data' (see ReusedReadBuffer).
   */
  connect(target: HostPort, onread?: net.OnReadOpts): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      let socket: net.Socket
      const t = this.tlsOptions
      if (t) {
        socket = tls.connect({
          host: target.host,
          port: target.port,
          secureContext: t.secureContext(),
          servername: t.servername ?? (net.isIP(target.host) ? undefined : target.host),
          rejectUnauthorized: !t.insecureSkipVerify,
          checkServerIdentity: t.verifyHostname && !t.insecureSkipVerify ? tls.checkServerIdentity : () => undefined,
        })
      } else {
        socket = net.connect({ host: target.host, port: target.port, ...(onread !== undefined && { onread }) })
      }
      socket.setNoDelay(true)
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new UpstreamConnectError(target, `no connection within ${this.connectTimeoutMs} ms`))
      }, this.connectTimeoutMs)
      const onError = (err: Error) => {
        clearTimeout(timer)
        socket.destroy()
        reject(new UpstreamConnectError(target, describeSocketError(err, t), err))
      }
      socket.once('error', onError)
      socket.once(t ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer)
        socket.off('error', onError)
        resolve(socket)
      })
    })
  }
}

export function describeSocketError(err: Error & { code?: string }, t: UpstreamTls | undefined): string {
  const trusted = t?.caFile === undefined ? "the system's CAs" : `upstream.tls.ca (${t.caFile})`
  switch (tlsAlertCode(err.code)) {
    case 'ECONNREFUSED':
      return 'connection refused (is the broker running and listening there?)'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name does not resolve'
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `the broker certificate does not name this host (${err.message}); set upstream.tls.servername if it uses another name`
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_GET_ISSUER_CERT':
      return `the broker certificate is not trusted (${err.code}): ${trusted} does not hold the CA that issued it; set upstream.tls.ca to that CA`
    case 'CERT_HAS_EXPIRED':
      return 'the broker certificate has expired (CERT_HAS_EXPIRED): the broker needs a renewed certificate'
    case 'CERT_NOT_YET_VALID':
      return 'the broker certificate is not valid yet (CERT_NOT_YET_VALID): check the clocks'
    // OpenSSL reads a plaintext broker's first bytes as a record with a bad version.
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_PACKET_LENGTH_TOO_LONG':
      return `the broker did not answer with TLS (${err.code}): is this a PLAINTEXT listener? Use the broker's SSL listener, or turn upstream.tls off`
    // Alerts about the client's certificate: none sent (OpenSSL brokers say certificate_required, Java ones
    // bad_certificate), or one the broker does not trust.
    case 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED':
    case 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE':
    case 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE':
    case 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA':
    case 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN':
      return t?.certFile === undefined
        ? `the broker refused the handshake (${err.code}): it requires a client certificate; set upstream.tls.cert and upstream.tls.key`
        : `the broker refused the sidecar's client certificate (${err.code}): issue upstream.tls.cert (${t.certFile}) from a CA the broker trusts`
    default:
      return err.message
  }
}
