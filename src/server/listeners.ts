import type net from 'node:net'
import type { Logger } from 'pino'
import { formatHostPort, type HostPort } from '../config/host-port.js'
import type { SidecarError } from '../errors.js'
import type { BrokerEndpoint, ConnectionInfo } from '../pipeline/filter-api.js'
import { reusedReadServer } from './accepted-socket.js'
import { type BindableServer, bind } from './bind.js'
import { type BrokerPortPlan, type EndpointKind, localPortFor } from './broker-port-plan.js'
import { connectionFootprint } from './connection-footprint.js'
import {
  ConnectionMemoryError,
  type ConnectionRefusals,
  ListenerFullError,
  SilentConnectionEvictedError,
} from './connection-refusals.js'
import { ListenerSlots, SILENT_GRACE_MS } from './listener-slots.js'
import type { MemoryBudget } from './memory-budget.js'
import { CLIENT_READ_BUFFER_BYTES, type ReusedReadBuffer } from './reused-read-buffer.js'

/** What the server established about a client before handing its socket over (TLS termination: the principal). */
export interface AcceptedClient {
  /** From the client certificate (tls-listener.ts); undefined without TLS, without a certificate, or no match. */
  readonly principal?: string
  /** The buffer the socket reads into (a plain listener's socket, adopted with onread); undefined: 'data' events. */
  readonly reads?: ReusedReadBuffer
  /**
   * The client's address when the socket is not the client's own: one the TLS thread relays (tls-thread.ts), whose
   * far end is that thread. Undefined: the socket's remote address.
   */
  readonly peer?: { readonly address: string; readonly port: number }
  /** The client spoke TLS, terminated elsewhere (the TLS thread); undefined: whether the socket is a TLSSocket. */
  readonly tls?: boolean
  /** Bytes the socket read before it was handed over that are not the client's (the relay header). */
  readonly relayHeaderBytes?: number
}

export type AcceptHandler = (socket: net.Socket, listener: ConnectionInfo['listener'], client?: AcceptedClient) => void

/**
 * Creates the server behind a listener: plain TCP here; TLS termination (tls-listener.ts) supplies its own, which
 * hands over sockets only once the handshake and the client certificate checks have passed.
 */
export type ServerFactory = (onSocket: (socket: net.Socket, client?: AcceptedClient) => void) => BindableServer

/** What a listener may hold (limits), read at every accept so that a reloaded configuration applies at once. */
export interface ListenerLimits {
  /** Client connections one listener keeps open (limits.maxClientConnections); 0: no limit. */
  readonly maxClientConnections: () => number
  /** Where refused connections are counted and logged. */
  readonly refusals: ConnectionRefusals
  /** How long a connection may stay silent before it may be closed to make room; default SILENT_GRACE_MS. */
  readonly silentGraceMs?: number
  /** What every connection holds its footprint against (connection-footprint.ts); none: not counted. */
  readonly memory?: MemoryBudget
}

export const plainServer: ServerFactory = (onSocket) =>
  reusedReadServer(CLIENT_READ_BUFFER_BYTES, (socket, reads) => onSocket(socket, reads && { reads }))

/**
 * The bootstrap listener clients are configured with, plus one listener per upstream node, started on
 * demand when a response first names the node. Each per-node listener is at a deterministic port
 * (broker-port-plan.ts), so clients holding cached metadata reach the same node after a sidecar restart.
 */
export class Listeners {
  private bootstrapServer: BindableServer | undefined
  private readonly nodeServers = new Map<
    string,
    { server: BindableServer; ready: Promise<BrokerEndpoint>; endpoint?: BrokerEndpoint }
  >()
  private accepting = true
  /** Client connections open per listener, counted from accept to close. */
  private readonly slots: ListenerSlots
  /** The footprint each open connection holds against the memory budget, given back once on close. */
  private readonly held = new Map<net.Socket, number>()

  constructor(
    /** listen: where the bootstrap listener binds, and whether every listener binds with SO_REUSEPORT. */
    private readonly bootstrapAddress: HostPort & { readonly reusePort?: boolean },
    private readonly plan: BrokerPortPlan,
    private readonly createServer: ServerFactory,
    private readonly onAccept: AcceptHandler,
    private readonly log: Logger,
    private readonly limits?: ListenerLimits,
  ) {
    this.slots = new ListenerSlots(Date.now, limits?.silentGraceMs ?? SILENT_GRACE_MS)
  }

  /** Starts the bootstrap listener; resolves with the bound address (port 0 picks a free one). */
  async start(): Promise<HostPort> {
    const server = this.createServer((socket, client) =>
      this.admit(socket, { kind: 'bootstrap', port: (server.address() as net.AddressInfo).port }, client),
    )
    const address = await bind(server, this.bootstrapAddress, { reusePort: this.bootstrapAddress.reusePort })
    this.bootstrapServer = server
    this.log.info({ listener: 'bootstrap', address: formatHostPort(address) }, 'listening')
    return address
  }

  get bootstrap(): HostPort | undefined {
    const a = this.bootstrapServer?.address() as net.AddressInfo | null | undefined
    return a ? { host: a.address, port: a.port } : undefined
  }

  /** The local endpoint of a node, listening once the returned value (or promise) is there. */
  endpointFor(kind: EndpointKind, nodeId: number): BrokerEndpoint | Promise<BrokerEndpoint> {
    const key = `${kind}:${nodeId}`
    const existing = this.nodeServers.get(key)
    if (existing) return existing.endpoint ?? existing.ready
    const port = localPortFor(this.plan, kind, nodeId)
    const listener: ConnectionInfo['listener'] = { kind, nodeId, port }
    const server = this.createServer((socket, client) => this.admit(socket, listener, client))
    const entry: { server: BindableServer; ready: Promise<BrokerEndpoint>; endpoint?: BrokerEndpoint } = {
      server,
      ready: bind(server, { host: this.plan.bindHost, port }, { reusePort: this.bootstrapAddress.reusePort }).then(
        () => {
          const endpoint = { host: this.plan.advertisedHost, port }
          entry.endpoint = endpoint
          this.log.info(
            { listener: kind, nodeId, address: formatHostPort({ host: this.plan.bindHost, port }) },
            'listening',
          )
          return endpoint
        },
        (err) => {
          this.nodeServers.delete(key)
          throw err
        },
      ),
    }
    this.nodeServers.set(key, entry)
    return entry.ready
  }

  /** Client connections open now, per listener ("bootstrap", "broker 1", ...), for status output and metrics. */
  connectionsOpen(): ReadonlyMap<string, number> {
    return this.slots.counts()
  }

  /**
   * Hands an accepted socket over, unless its listener already holds limits.maxClientConnections: then the oldest
   * connection that has sent nothing for a while is closed to make room (listener-slots.ts), or, if every one has
   * spoken, the new one is closed at once, before it reads a byte or dials a broker. Either way a flood of
   * connections costs an accept and a close each, counted by reason and logged once. Kafka's broker has such
   * limits too, max.connections and max.connections.per.ip, Integer.MAX_VALUE by default (apache/kafka at 1eb7644,
   * server/src/main/java/org/apache/kafka/network/SocketServerConfigs.java:135-141); over the per-IP one it closes
   * the new connection at accept (core/src/main/scala/kafka/network/SocketServer.scala:787-798). Here the default
   * keeps a pod's memory and descriptors bounded.
   */
  private admit(socket: net.Socket, listener: ConnectionInfo['listener'], client?: AcceptedClient): void {
    const label = listener.kind === 'bootstrap' ? 'bootstrap' : `${listener.kind} ${listener.nodeId}`
    const max = this.limits?.maxClientConnections() ?? 0
    const decision = this.slots.decide(label, max)
    if (decision.kind === 'full') {
      this.limits!.refusals.refuse(socket, 'listener_full', new ListenerFullError(label, max), this.log, label)
      return
    }
    if (decision.kind === 'evict') {
      const { socket: silent, silentMs } = decision
      this.evict(label, silent, new SilentConnectionEvictedError(label, max, silentMs))
    }
    if (!this.holdMemory(socket, label, client?.tls)) return
    this.slots.add(label, socket, client?.relayHeaderBytes ?? 0)
    this.onAccept(socket, listener, client)
  }

  /**
   * Takes the new connection's footprint from the memory budget (limits.memoryBudgetBytes), whose connections'
   * share bounds what idle connections can take whatever limits.maxClientConnections allows (10,000 idle mTLS
   * connections would hold ~600 MB). When the share is full the oldest connection on any listener that has sent
   * nothing makes room, as for a full listener; otherwise the new one is refused (`memory_budget`). False: refused.
   */
  private holdMemory(socket: net.Socket, label: string, tls: boolean | undefined): boolean {
    const memory = this.limits?.memory
    if (memory === undefined) return true
    const bytes = connectionFootprint(socket, tls)
    if (!memory.holdConnection(bytes)) {
      const error = (silentMs?: number) =>
        new ConnectionMemoryError(memory.heldByConnections, memory.connectionsLimit, memory.limit, silentMs)
      const silent = this.slots.oldestSilent()
      if (silent !== undefined) this.evict(silent.listener, silent.socket, error(silent.silentMs))
      if (silent === undefined || !memory.holdConnection(bytes)) {
        this.limits!.refusals.refuse(socket, 'memory_budget', error(), this.log, label)
        return false
      }
    }
    this.held.set(socket, bytes)
    socket.once('close', () => this.releaseMemory(socket))
    return true
  }

  private releaseMemory(socket: net.Socket): void {
    const bytes = this.held.get(socket)
    if (bytes === undefined) return
    this.held.delete(socket)
    this.limits?.memory?.releaseConnection(bytes)
  }

  /** Closes an admitted connection that has sent nothing to make room; what it held is free at once. */
  private evict(label: string, socket: net.Socket, err: SidecarError): void {
    this.slots.remove(label, socket)
    this.releaseMemory(socket)
    this.limits!.refusals.refuse(socket, 'evicted_silent', err, this.log, label)
  }

  /** Node listeners currently open, for status output. */
  nodeListeners(): { kind: EndpointKind; nodeId: number; port: number }[] {
    return [...this.nodeServers.entries()]
      .filter(([, e]) => e.endpoint !== undefined)
      .map(([k, e]) => {
        const [kind, id] = k.split(':') as [EndpointKind, string]
        return { kind, nodeId: Number(id), port: e.endpoint!.port }
      })
  }

  /**
   * Stops accepting new connections on every listener; open connections are not touched. server.close() stops
   * listening at once but calls back only when every connection has ended, so it is not awaited here: the
   * caller drains the connections itself.
   */
  stopAccepting(): void {
    if (!this.accepting) return
    this.accepting = false
    for (const s of [this.bootstrapServer, ...[...this.nodeServers.values()].map((e) => e.server)]) {
      if (s?.listening) s.close()
    }
  }
}
