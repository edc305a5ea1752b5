import net from 'node:net'
import tls from 'node:tls'
import { formatHostPort, type HostPort } from '../config/host-port.js'
import { SidecarError } from '../errors.js'

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

  connect(target: HostPort): Promise<net.Socket> {
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
        socket = net.connect({ host: target.host, port: target.port })
      }
      socket.setNoDelay(true)
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new UpstreamConnectError(target, `no connection within ${this.connectTimeoutMs} ms`))
      }, this.connectTimeoutMs)
      const onError = (err: Error) => {
        clearTimeout(timer)
        socket.destroy()
        reject(new UpstreamConnectError(target, describeSocketError(err), err))
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

function describeSocketError(err: Error & { code?: string }): string {
  switch (err.code) {
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
      return `the broker certificate is not trusted (${err.code}); set upstream.tls.ca to the CA that issued it`
    default:
      return err.message
  }
}
