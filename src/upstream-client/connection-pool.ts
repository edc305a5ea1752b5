import { formatHostPort } from '../config/host-port.js'
import { type ExponentialBackoff, sleep } from './backoff.js'
import { BrokerConnection, type BrokerConnectionOptions } from './connection.js'
import { ClientClosedError } from './errors.js'

/**
 * At most one open connection per broker node, opened on demand. A node whose connection attempt failed is not
 * tried again before its backoff has passed (exponential with jitter, reset by a success), so a dead broker is not
 * hammered and many sidecars do not reconnect in lockstep. Bootstrap addresses are nodes with negative ids
 * (-1, -2, ...), as in the Java client, until metadata names the real brokers.
 */

export interface NodeAddress {
  nodeId: number
  host: string
  port: number
}

export interface NodeHealth {
  nodeId: number
  host: string
  port: number
  connected: boolean
  /** Consecutive failed connection attempts. */
  failures: number
  lastError?: string
  /** Epoch ms before which no new attempt is made. */
  nextAttemptAt: number
}

export interface PoolListener {
  connected(node: NodeAddress): void
  connectFailed(node: NodeAddress, err: Error): void
  /** An open connection ended with an error (not one the client closed). */
  connectionLost(node: NodeAddress, err: Error): void
}

interface NodeState {
  address: NodeAddress
  conn: BrokerConnection | undefined
  opening: Promise<BrokerConnection> | undefined
  failures: number
  nextAttemptAt: number
  lastError: Error | undefined
}

export type PoolConnectionOptions = Omit<BrokerConnectionOptions, 'target' | 'nodeId' | 'onClose'>

export class ConnectionPool {
  private readonly nodes = new Map<number, NodeState>()
  private closed = false

  constructor(
    private readonly options: PoolConnectionOptions,
    private readonly backoff: ExponentialBackoff,
    private readonly listener: PoolListener,
  ) {}

  /** The open connection to a node, opening it (after the node's backoff, if it failed lately) when there is none. */
  get(address: NodeAddress): Promise<BrokerConnection> {
    if (this.closed) return Promise.reject(new ClientClosedError())
    let s = this.nodes.get(address.nodeId)
    if (s !== undefined && (s.address.host !== address.host || s.address.port !== address.port)) {
      // The node moved (a broker replaced under the same id): its old connection goes to the old address.
      this.forget(address.nodeId)
      s = undefined
    }
    if (s === undefined) {
      s = { address, conn: undefined, opening: undefined, failures: 0, nextAttemptAt: 0, lastError: undefined }
      this.nodes.set(address.nodeId, s)
    }
    const conn = s.conn
    if (conn !== undefined && !conn.closed) {
      if (Date.now() < conn.sessionExpiresAt) return Promise.resolve(conn)
      s.conn = undefined
      this.retire(conn)
    }
    if (s.opening === undefined) {
      const state = s
      const opening = this.open(state)
      state.opening = opening
      const done = () => {
        if (state.opening === opening) state.opening = undefined
      }
      opening.then(done, done)
      return opening
    }
    return s.opening
  }

  /** The node's connection if one is open now (no connecting). */
  current(nodeId: number): BrokerConnection | undefined {
    const conn = this.nodes.get(nodeId)?.conn
    return conn !== undefined && !conn.closed ? conn : undefined
  }

  /** Open connections that still take requests (not past their SASL session). */
  openConnections(): BrokerConnection[] {
    const out: BrokerConnection[] = []
    const now = Date.now()
    for (const s of this.nodes.values())
      if (s.conn !== undefined && !s.conn.closed && now < s.conn.sessionExpiresAt) out.push(s.conn)
    return out
  }

  /** Epoch ms before which the node will not be tried (0: now); undefined for a node never tried. */
  nextAttemptAt(nodeId: number): number | undefined {
    return this.nodes.get(nodeId)?.nextAttemptAt
  }

  failures(nodeId: number): number {
    return this.nodes.get(nodeId)?.failures ?? 0
  }

  health(): NodeHealth[] {
    return [...this.nodes.values()].map((s) => ({
      nodeId: s.address.nodeId,
      host: s.address.host,
      port: s.address.port,
      connected: s.conn !== undefined && !s.conn.closed,
      failures: s.failures,
      ...(s.lastError && { lastError: s.lastError.message }),
      nextAttemptAt: s.nextAttemptAt,
    }))
  }

  /** Closes the node's connection and forgets its state. */
  forget(nodeId: number): void {
    const s = this.nodes.get(nodeId)
    if (s === undefined) return
    this.nodes.delete(nodeId)
    s.conn?.close()
  }

  /** Node ids the pool holds state for. */
  nodeIds(): number[] {
    return [...this.nodes.keys()]
  }

  closeAll(): void {
    this.closed = true
    for (const s of this.nodes.values()) s.conn?.close()
    this.nodes.clear()
  }

  private async open(s: NodeState): Promise<BrokerConnection> {
    const wait = s.nextAttemptAt - Date.now()
    if (wait > 0) await sleep(wait)
    if (this.closed) throw new ClientClosedError()
    try {
      const conn = await BrokerConnection.open({
        ...this.options,
        target: s.address,
        nodeId: s.address.nodeId,
        onClose: (c, err) => this.onClose(s, c, err),
      })
      if (this.closed || this.nodes.get(s.address.nodeId) !== s) {
        conn.close()
        throw new ClientClosedError()
      }
      s.conn = conn
      s.failures = 0
      s.nextAttemptAt = 0
      s.lastError = undefined
      this.listener.connected(s.address)
      return conn
    } catch (err) {
      if (err instanceof ClientClosedError) throw err
      s.failures++
      s.lastError = err as Error
      s.nextAttemptAt = Date.now() + this.backoff.delay(s.failures)
      this.options.log.debug(
        {
          broker: formatHostPort(s.address),
          node: s.address.nodeId,
          failures: s.failures,
          err: (err as Error).message,
        },
        'upstream connection attempt failed',
      )
      this.listener.connectFailed(s.address, err as Error)
      throw err
    }
  }

  private onClose(s: NodeState, conn: BrokerConnection, err: Error | undefined): void {
    if (s.conn === conn) s.conn = undefined
    if (err === undefined || this.closed) return
    s.lastError = err
    this.listener.connectionLost(s.address, err)
  }

  /**
   * A connection whose SASL session is about to expire takes no new requests; it is closed once those on it had
   * time to finish (their own timeout bounds that).
   */
  private retire(conn: BrokerConnection): void {
    if (conn.inFlight === 0) {
      conn.close()
      return
    }
    setTimeout(() => conn.close(), this.options.requestTimeoutMs).unref()
  }
}
