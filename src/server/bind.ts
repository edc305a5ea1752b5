import type { EventEmitter } from 'node:events'
import type net from 'node:net'
import { formatHostPort, type HostPort } from '../config/host-port.js'
import { SidecarError } from '../errors.js'

/**
 * Binding a listener (client-facing, admin, health, injector), with one error for every way it fails and the
 * listen.reusePort option.
 */

export class ListenError extends SidecarError {
  constructor(target: HostPort, err: Error & { code?: string }) {
    const why =
      err.code === 'EADDRINUSE'
        ? 'the address is already in use (another sidecar or service? choose another port; for a handover between two sidecars on one port, set listen.reusePort in both)'
        : err.code === 'EADDRNOTAVAIL'
          ? 'no local interface has this address'
          : err.code === 'EACCES'
            ? 'permission denied (ports below 1024 need privileges)'
            : err.message
    super('KSC_ERR_LISTEN', `cannot listen on ${formatHostPort(target)}: ${why}`, { cause: err })
  }
}

export interface BindOptions {
  /** SO_REUSEPORT: another process may listen on the same address at the same time (listen.reusePort). */
  readonly reusePort?: boolean
}

/**
 * What binding and the listeners need of a server: a net.Server, or a listener whose socket the TLS thread holds
 * (tls-thread.ts).
 */
export interface BindableServer extends EventEmitter {
  listen(options: net.ListenOptions, listening: () => void): unknown
  address(): net.AddressInfo | string | null
  close(done?: (err?: Error) => void): unknown
  readonly listening: boolean
}

/** Listens on `target`; resolves with the bound address (port 0 picks a free one), rejects with a ListenError. */
export function bind(server: BindableServer, target: HostPort, options: BindOptions = {}): Promise<HostPort> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(new ListenError(target, err))
    server.once('error', onError)
    // Only passed when set: Node lines without the option ignore it silently, which config validation prevents.
    const reuse = options.reusePort === true ? { reusePort: true } : {}
    server.listen({ host: target.host, port: target.port, ...reuse }, () => {
      server.off('error', onError)
      const a = server.address() as net.AddressInfo
      resolve({ host: a.address, port: a.port })
    })
  })
}
