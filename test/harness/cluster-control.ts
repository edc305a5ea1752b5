import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ControlRequestError, HarnessError, UnknownClusterError } from './errors.js'
import type { KafkaClusterDescription, ManagedCluster } from './kafka-cluster.js'

/**
 * The shared clusters live in the vitest globalSetup process, but fault tests run in worker processes and
 * must stop, kill and restart those brokers. This loopback HTTP endpoint is the bridge:
 *
 *   GET  /<token>/clusters                                -> { clusters: KafkaClusterDescription[] }
 *   GET  /<token>/clusters/<name>                         -> KafkaClusterDescription (current pids, running flags)
 *   POST /<token>/clusters/<name>/nodes/<id>/<action>     -> KafkaClusterDescription after the action
 *        action: stop (SIGTERM) | kill (SIGKILL) | start | restart; resolves once the node serves again
 *   errors                                                -> { code, message }, 4xx/5xx
 *
 * It listens on 127.0.0.1 only, and the random token in the path keeps other local processes from
 * stopping brokers by accident.
 */
export const NODE_ACTIONS = ['stop', 'kill', 'start', 'restart'] as const
export type NodeAction = (typeof NODE_ACTIONS)[number]

export interface ClusterControlServer {
  /** Base URL including the token; give it to ClusterControlClient. */
  readonly url: string
  close(): Promise<void>
}

export async function startClusterControlServer(
  clusters: ReadonlyMap<string, ManagedCluster>,
): Promise<ClusterControlServer> {
  const token = randomBytes(12).toString('hex')
  const server = createServer((request, response) => {
    handle(clusters, token, request, response).catch((err: unknown) => sendError(response, err))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/${token}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

async function handle(
  clusters: ReadonlyMap<string, ManagedCluster>,
  token: string,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const parts = new URL(request.url ?? '/', 'http://control').pathname
    .split('/')
    .filter(Boolean)
    .map(decodeURIComponent)
  if (parts[0] !== token || parts[1] !== 'clusters')
    return sendJson(response, 404, { code: 'NOT_FOUND', message: 'no such route' })
  const [, , name, nodes, id, action] = parts
  if (request.method === 'GET' && name === undefined) {
    return sendJson(response, 200, { clusters: [...clusters.values()].map((cluster) => cluster.describe()) })
  }
  if (name === undefined)
    return sendJson(response, 405, { code: 'METHOD_NOT_ALLOWED', message: `${request.method} /clusters` })
  const cluster = clusters.get(name)
  if (!cluster) throw new UnknownClusterError(name, [...clusters.keys()])
  if (request.method === 'GET' && nodes === undefined) return sendJson(response, 200, cluster.describe())
  const nodeId = Number(id)
  if (request.method !== 'POST' || nodes !== 'nodes' || !Number.isInteger(nodeId) || !isNodeAction(action)) {
    return sendJson(response, 404, {
      code: 'NOT_FOUND',
      message: `no route ${request.method} ${parts.slice(1).join('/')}`,
    })
  }
  const operations: Record<NodeAction, (nodeId: number) => Promise<void>> = {
    stop: (n) => cluster.stopNode(n),
    kill: (n) => cluster.killNode(n),
    start: (n) => cluster.startNode(n),
    restart: (n) => cluster.restartNode(n),
  }
  await operations[action](nodeId)
  sendJson(response, 200, cluster.describe())
}

function isNodeAction(value: string | undefined): value is NodeAction {
  return (NODE_ACTIONS as readonly string[]).includes(value ?? '')
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body)
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) })
  response.end(payload)
}

function sendError(response: ServerResponse, err: unknown): void {
  if (response.headersSent) {
    response.destroy()
    return
  }
  const status = err instanceof UnknownClusterError ? 404 : err instanceof HarnessError ? 409 : 500
  const code = err instanceof HarnessError ? err.code : 'INTERNAL'
  sendJson(response, status, { code, message: err instanceof Error ? err.message : String(err) })
}

/** Worker-side client of the control endpoint. */
export class ClusterControlClient {
  readonly #baseUrl: string

  constructor(baseUrl: string) {
    this.#baseUrl = baseUrl.replace(/\/+$/, '')
  }

  async list(): Promise<KafkaClusterDescription[]> {
    const body = (await this.#request('GET', '/clusters', 'list clusters')) as { clusters: KafkaClusterDescription[] }
    return body.clusters
  }

  describe(name: string): Promise<KafkaClusterDescription> {
    return this.#request(
      'GET',
      `/clusters/${encodeURIComponent(name)}`,
      `describe ${name}`,
    ) as Promise<KafkaClusterDescription>
  }

  /** Runs a node action in the globalSetup process; resolves with the cluster as it is afterwards. */
  nodeAction(name: string, nodeId: number, action: NodeAction): Promise<KafkaClusterDescription> {
    return this.#request(
      'POST',
      `/clusters/${encodeURIComponent(name)}/nodes/${nodeId}/${action}`,
      `${action} node ${nodeId} of ${name}`,
    ) as Promise<KafkaClusterDescription>
  }

  async #request(method: 'GET' | 'POST', path: string, what: string): Promise<unknown> {
    let response: Response
    try {
      // Restarts wait for a broker to serve again: allow as long as a cluster start may take.
      response = await fetch(`${this.#baseUrl}${path}`, { method, signal: AbortSignal.timeout(300_000) })
    } catch (err) {
      throw new ControlRequestError(
        what,
        `the control endpoint did not answer (${(err as Error).message}); is globalSetup running?`,
      )
    }
    const text = await response.text()
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      throw new ControlRequestError(what, `HTTP ${response.status}, not JSON: ${text.slice(0, 200)}`)
    }
    if (!response.ok) {
      const { code, message } = body as { code?: string; message?: string }
      throw new ControlRequestError(what, `HTTP ${response.status} ${code ?? ''}: ${message ?? text}`, code)
    }
    return body
  }
}
