import http from 'node:http'
import type { Logger } from 'pino'
import { formatHostPort, type HostPort } from '../config/host-port.js'
import { type BindOptions, bind } from '../server/bind.js'

/**
 * The operators' HTTP endpoint, on loopback by default:
 *   /healthz  the process is alive (always 200 while it can answer)
 *   /readyz   200 when the bootstrap listener is up and an upstream broker is reachable, else 503 with why
 * Further routes (metrics, statistics) are added by their modules through `route`.
 */

export interface Readiness {
  ready: boolean
  reason?: string
  /** What each part the answer depends on says (filters' dependencies), shown whether ready or not. */
  detail?: readonly { name: string; ready: boolean; detail?: string }[]
}

export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>

export class AdminServer {
  private readonly server: http.Server
  private readonly routes = new Map<string, RouteHandler>()

  constructor(
    private readonly readiness: () => Promise<Readiness>,
    private readonly log: Logger,
  ) {
    this.route('/healthz', (_req, res) => sendJson(res, 200, { status: 'ok' }))
    this.route('/readyz', async (_req, res) => {
      const r = await this.readiness()
      const detail = r.detail !== undefined && r.detail.length > 0 ? { detail: r.detail } : {}
      sendJson(
        res,
        r.ready ? 200 : 503,
        r.ready ? { status: 'ready', ...detail } : { status: 'not ready', reason: r.reason, ...detail },
      )
    })
    this.server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!
      const handler = this.routes.get(path)
      if (!handler) {
        sendJson(res, 404, { error: `no such endpoint ${path}; try ${[...this.routes.keys()].join(', ')}` })
        return
      }
      Promise.resolve(handler(req, res)).catch((err: Error) => {
        this.log.error({ err, path }, 'admin endpoint failed')
        if (!res.headersSent) sendJson(res, 500, { error: err.message })
        else res.end()
      })
    })
  }

  route(path: string, handler: RouteHandler): void {
    this.routes.set(path, handler)
  }

  async listen(address: HostPort, options: BindOptions = {}): Promise<HostPort> {
    const bound = await bind(this.server, address, options)
    this.log.info({ address: formatHostPort(bound) }, 'admin endpoint listening')
    return bound
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}
