import type net from 'node:net'

/**
 * The client connections each listener holds, in the order they were accepted, and what to do with one more when
 * a listener is full (limits.maxClientConnections): make room by closing the oldest connection that has sent
 * nothing at all for `silentGraceMs` (a port scanner, a socket opened and forgotten, an attacker holding slots),
 * or, when every connection has spoken, refuse the new one. Kafka clients send ApiVersions (or a TLS ClientHello)
 * as soon as they connect, so a connection that has been silent for seconds is not a client at work; one that has
 * spoken and then idles is, and keeps its slot. Kafka's broker also makes room once it is over max.connections: it
 * closes its lowest-priority connection, the least recently used one (apache/kafka at 1eb7644,
 * core/src/main/scala/kafka/network/SocketServer.scala:1223-1228 closeExcessConnections;
 * clients/src/main/java/org/apache/kafka/common/network/Selector.java:1025-1036 lowestPriorityChannel).
 */

/** How long a connection may stay silent before it may be closed to make room. */
export const SILENT_GRACE_MS = 2_000

export type SlotDecision =
  | { readonly kind: 'admit' }
  | { readonly kind: 'evict'; readonly socket: net.Socket; readonly silentMs: number }
  | { readonly kind: 'full' }

interface Slot {
  readonly acceptedAt: number
  readonly notClientBytes: number
}

export class ListenerSlots {
  /** Per listener, each open connection's accept time and the bytes it had read then that were not its client's. */
  private readonly byListener = new Map<string, Map<net.Socket, Slot>>()

  constructor(
    private readonly now: () => number = Date.now,
    private readonly silentGraceMs = SILENT_GRACE_MS,
  ) {}

  /** What to do with a new connection on `listener` when it may hold `max` (0: any number). */
  decide(listener: string, max: number): SlotDecision {
    const open = this.byListener.get(listener)
    if (max <= 0 || open === undefined || open.size < max) return { kind: 'admit' }
    const now = this.now()
    // Oldest first (a Map iterates in insertion order): the first silent one found has been silent longest.
    for (const [socket, { acceptedAt, notClientBytes }] of open) {
      if (now - acceptedAt < this.silentGraceMs) break
      if (socket.bytesRead <= notClientBytes) return { kind: 'evict', socket, silentMs: now - acceptedAt }
    }
    return { kind: 'full' }
  }

  /**
   * The connection on any listener that has sent nothing for longest (at least `silentGraceMs`), to make room for
   * one more when the connections' memory is full; undefined when every connection has spoken or is new.
   */
  oldestSilent(): { readonly listener: string; readonly socket: net.Socket; readonly silentMs: number } | undefined {
    const now = this.now()
    let found: { listener: string; socket: net.Socket; acceptedAt: number } | undefined
    for (const [listener, open] of this.byListener) {
      for (const [socket, { acceptedAt, notClientBytes }] of open) {
        if (now - acceptedAt < this.silentGraceMs || (found !== undefined && acceptedAt >= found.acceptedAt)) break
        if (socket.bytesRead <= notClientBytes) {
          found = { listener, socket, acceptedAt }
          break
        }
      }
    }
    return found && { listener: found.listener, socket: found.socket, silentMs: now - found.acceptedAt }
  }

  /**
   * Counts `socket` against `listener` until it closes. `notClientBytes`: what the socket had read before it was
   * handed over that the client did not send (the TLS thread's relay header), so that it does not count as speaking.
   */
  add(listener: string, socket: net.Socket, notClientBytes = 0): void {
    let open = this.byListener.get(listener)
    if (open === undefined) {
      open = new Map()
      this.byListener.set(listener, open)
    }
    open.set(socket, { acceptedAt: this.now(), notClientBytes })
    socket.once('close', () => this.remove(listener, socket))
  }

  /** Stops counting `socket` (it is being closed). */
  remove(listener: string, socket: net.Socket): void {
    const open = this.byListener.get(listener)
    if (open === undefined) return
    open.delete(socket)
    if (open.size === 0) this.byListener.delete(listener)
  }

  /** Connections open now, per listener. */
  counts(): Map<string, number> {
    return new Map([...this.byListener].map(([listener, open]) => [listener, open.size]))
  }
}
