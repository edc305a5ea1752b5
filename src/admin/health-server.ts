import http from 'node:http'
import type { Logger } from 'pino'
import { formatHostPort, type HostPort } from '../config/host-port.js'
import { type BindOptions, bind } from '../server/bind.js'
import { type Readiness, sendJson } from './admin-server.js'

/**
 * The health-only listener (`admin.healthPort`): /healthz and /readyz and nothing else, for probes that come from
 * outside the process's network namespace. In Kubernetes the kubelet probes the pod IP, while the admin endpoint
 * stays on loopback because /stats and /metrics name every client, topic and principal.
 *
 * /readyz answers with the status alone: the admin endpoint's reason names the upstream brokers' addresses, which
 * the sidecar otherwise keeps from anything on the network side of it. The reason is on the admin endpoint and in
 * the logs.
 */
export class HealthServer {
  private readonly server: http.Server

  constructor(
    private readonly readiness: () => Promise<Readiness>,
    private readonly log: Logger,
  ) {
    this.server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendJson(res, 405, { error: `${req.method} is not served here: GET /healthz or /readyz` })
        return
      }
      if (path === '/healthz') {
        sendJson(res, 200, { status: 'ok' })
        return
      }
      if (path === '/readyz') {
        this.readiness().then(
          (r) => sendJson(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready' }),
          (err: Error) => {
            this.log.error({ err }, 'health listener: readiness check failed')
            sendJson(res, 503, { status: 'not ready' })
          },
        )
        return
      }
      sendJson(res, 404, {
        error: `no such endpoint ${path}: this listener serves /healthz and /readyz only (the rest is on the admin endpoint)`,
      })
    })
  }

  async listen(address: HostPort, options: BindOptions = {}): Promise<HostPort> {
    const bound = await bind(this.server, address, options)
    this.log.info({ address: formatHostPort(bound) }, 'health listener (/healthz, /readyz) listening')
    return bound
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }
}
