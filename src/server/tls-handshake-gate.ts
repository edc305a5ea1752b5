import type net from 'node:net'

/**
 * What the TLS listeners let handshakes take: how many connections may be in the handshake phase at once
 * (listen.tls.maxPendingHandshakes) and how many handshakes the sidecar starts a second (listen.tls.
 * maxHandshakesPerSecond). One gate serves all TLS listeners of a sidecar, since they share one thread and one heap.
 *
 * Why: a connection costs its slot in limits.maxClientConnections only once its handshake is done, and until then
 * it is not free. A connection stopped mid-handshake holds its TLS state (measured ~45 KB of RSS each, bare Node
 * tls.Server included) until listen.tls.handshakeTimeoutMs; a full handshake costs the server an RSA signature and
 * more (~2-5 ms of CPU each on the bench machine), spent on the thread that moves every other client's records. The
 * pending cap bounds the first, the rate the second. Kafka's broker has a rate of its own, max.connection.creation.rate
 * (KIP-612), which delays accepts when exceeded; here the connections wait in a short queue instead.
 *
 * A connection is pending from accept until its handshake ends, in one of three phases: sniffing (its ClientHello not
 * yet all in: no TLS state exists yet, and no turn is taken), queued (a TLS connection waiting for its turn under the rate), handshaking (in OpenSSL, waiting on
 * the client between flights). When the pending set is full, the oldest connection that has been waiting on its
 * client (sniffing or handshaking) for `evictAfterMs` is closed to make room; one waiting for its turn is never
 * evicted (the wait is the sidecar's doing), and if none can go, the new connection is refused. The queue holds
 * about a second of handshakes (the rate, at least 1); beyond that, TLS connections are refused at once rather than
 * kept waiting longer.
 *
 * While the queue is full the gate is saturated (`onSaturation`): every TLS connection that arrives then would be
 * refused once its ClientHello is in, so the listeners stop building connections for them at all and close them at
 * accept (tls-listener.ts), which is what keeps a flood's cost off the thread that moves established clients' records.
 */

export interface HandshakeGateLimits {
  /** Handshakes started per second, all TLS listeners together; 0: no limit. */
  readonly maxPerSecond: number
  /** Connections in the handshake phase at once; 0: no limit. */
  readonly maxPending: number
  /** How long a connection must have waited on its client before it may be closed to make room. */
  readonly evictAfterMs: number
}

/** Legitimate handshakes finish within milliseconds on a pod's network: a second without one is a stalled client. */
export const HANDSHAKE_EVICT_AFTER_MS = 1_000

export type HandshakePhase = 'sniffing' | 'queued' | 'handshaking'

export type GateAdmission =
  | { readonly kind: 'admit' }
  | { readonly kind: 'evict'; readonly socket: net.Socket; readonly pendingMs: number; readonly phase: HandshakePhase }
  | { readonly kind: 'full' }

export type StartDecision = 'started' | 'queued' | 'refused'

interface Pending {
  readonly since: number
  phase: HandshakePhase
  start?: () => void
}

export class HandshakeGate {
  /** In accept order (a Map iterates in insertion order): the first evictable one is the oldest. */
  private readonly pending = new Map<net.Socket, Pending>()
  private readonly queue: net.Socket[] = []
  private tokens: number
  private refilledAt: number
  private timer: NodeJS.Timeout | undefined
  private saturated = false
  private readonly saturationWatchers: Array<(saturated: boolean) => void> = []

  constructor(
    private readonly limits: HandshakeGateLimits,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = this.burst
    this.refilledAt = now()
  }

  /**
   * Calls `watcher` each time the queue fills (true: every TLS connection arriving now would be refused for the rate)
   * and each time it has room again (false).
   */
  onSaturation(watcher: (saturated: boolean) => void): void {
    this.saturationWatchers.push(watcher)
  }

  /** Whether the queue is full: a TLS connection asking to start now would be refused. */
  isSaturated(): boolean {
    return this.saturated
  }

  /** Handshakes that may start at once after a quiet second: one second's worth. */
  private get burst(): number {
    return Math.max(1, this.limits.maxPerSecond)
  }

  /** TLS connections that may wait for their turn: about a second's worth. */
  private get queueCap(): number {
    return Math.max(1, this.limits.maxPerSecond)
  }

  /**
   * A new connection: counted as pending (sniffing) unless the pending set is full and no connection can be
   * evicted. With 'evict', the caller closes the returned socket (it is no longer counted) and the new one is in.
   */
  admit(socket: net.Socket): GateAdmission {
    const max = this.limits.maxPending
    if (max > 0 && this.pending.size >= max) {
      const now = this.now()
      let victim: { socket: net.Socket; entry: Pending } | undefined
      for (const [s, entry] of this.pending) {
        if (now - entry.since < this.limits.evictAfterMs) break
        if (entry.phase !== 'queued') {
          victim = { socket: s, entry }
          break
        }
      }
      if (victim === undefined) return { kind: 'full' }
      this.done(victim.socket)
      this.pending.set(socket, { since: now, phase: 'sniffing' })
      return { kind: 'evict', socket: victim.socket, pendingMs: now - victim.entry.since, phase: victim.entry.phase }
    }
    this.pending.set(socket, { since: this.now(), phase: 'sniffing' })
    return { kind: 'admit' }
  }

  /**
   * The connection has sent the start of a TLS handshake: `start` runs now if the rate allows ('started'), later
   * in turn ('queued'), or never, the queue being full ('refused': the caller closes it; it is no longer counted).
   */
  requestStart(socket: net.Socket, start: () => void): StartDecision {
    const entry = this.pending.get(socket)
    if (entry === undefined) return 'refused'
    if (this.limits.maxPerSecond <= 0) {
      entry.phase = 'handshaking'
      start()
      return 'started'
    }
    this.refill()
    if (this.queue.length === 0 && this.tokens >= 1) {
      this.tokens -= 1
      entry.phase = 'handshaking'
      start()
      return 'started'
    }
    if (this.queue.length >= this.queueCap) {
      this.done(socket)
      return 'refused'
    }
    entry.phase = 'queued'
    entry.start = start
    this.queue.push(socket)
    this.schedule()
    this.checkSaturation()
    return 'queued'
  }

  /** The connection's phase, or undefined once it is no longer pending. */
  phaseOf(socket: net.Socket): HandshakePhase | undefined {
    return this.pending.get(socket)?.phase
  }

  /** The handshake ended (done, failed, timed out) or the connection closed: no longer pending. */
  done(socket: net.Socket): void {
    const entry = this.pending.get(socket)
    if (entry === undefined) return
    this.pending.delete(socket)
    if (entry.phase === 'queued') {
      const i = this.queue.indexOf(socket)
      if (i >= 0) this.queue.splice(i, 1)
      this.checkSaturation()
    }
  }

  /** Connections pending now, by phase. */
  counts(): Record<HandshakePhase, number> {
    const c = { sniffing: 0, queued: 0, handshaking: 0 }
    for (const entry of this.pending.values()) c[entry.phase]++
    return c
  }

  close(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private refill(): void {
    const now = this.now()
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.limits.maxPerSecond)
    this.refilledAt = now
  }

  /** Starts queued handshakes as tokens come in. */
  private drain(): void {
    this.timer = undefined
    this.refill()
    while (this.queue.length > 0 && this.tokens >= 1) {
      const socket = this.queue.shift()!
      const entry = this.pending.get(socket)
      if (entry?.start === undefined) continue
      this.tokens -= 1
      entry.phase = 'handshaking'
      const start = entry.start
      entry.start = undefined
      start()
    }
    this.schedule()
    this.checkSaturation()
  }

  private checkSaturation(): void {
    const saturated = this.limits.maxPerSecond > 0 && this.queue.length >= this.queueCap
    if (saturated === this.saturated) return
    this.saturated = saturated
    for (const watcher of this.saturationWatchers) watcher(saturated)
  }

  private schedule(): void {
    if (this.timer !== undefined || this.queue.length === 0) return
    const waitMs = Math.max(1, ((1 - this.tokens) / this.limits.maxPerSecond) * 1000)
    this.timer = setTimeout(() => this.drain(), waitMs)
    this.timer.unref()
  }
}
