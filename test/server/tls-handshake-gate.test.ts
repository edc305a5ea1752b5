import type net from 'node:net'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { HandshakeGate } from '../../src/server/tls-handshake-gate.js'

/** Sockets are only keys to the gate. */
const sockets = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i }) as unknown as net.Socket)

/** A gate at `maxPerSecond` and what its saturation watcher heard. */
function watchedGate(maxPerSecond: number): { gate: HandshakeGate; heard: boolean[] } {
  const gate = new HandshakeGate({ maxPerSecond, maxPending: 0, evictAfterMs: 1000 }, () => Date.now())
  const heard: boolean[] = []
  gate.onSaturation((saturated) => heard.push(saturated))
  return { gate, heard }
}

/** A connection accepted whose whole ClientHello is in. */
function arrive(gate: HandshakeGate, socket: net.Socket): void {
  gate.admit(socket)
  gate.requestStart(socket, () => {})
}

describe('HandshakeGate', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('starts a second of handshakes at once, queues about a second more in turn, and refuses beyond that', () => {
    const gate = new HandshakeGate({ maxPerSecond: 4, maxPending: 0, evictAfterMs: 1000 }, () => Date.now())
    const s = sockets(10)
    const started: number[] = []
    const decisions = s.map((socket, i) => {
      expect(gate.admit(socket).kind).toBe('admit')
      return gate.requestStart(socket, () => started.push(i))
    })
    expect(decisions).toEqual([...Array(4).fill('started'), ...Array(4).fill('queued'), ...Array(2).fill('refused')])
    expect(started).toEqual([0, 1, 2, 3])
    expect(gate.counts()).toEqual({ sniffing: 0, queued: 4, handshaking: 4 })
    // One token every 250 ms, in order.
    vi.advanceTimersByTime(260)
    expect(started).toEqual([0, 1, 2, 3, 4])
    vi.advanceTimersByTime(760)
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(gate.counts()).toEqual({ sniffing: 0, queued: 0, handshaking: 8 })
    for (const socket of s) gate.done(socket)
    expect(gate.counts()).toEqual({ sniffing: 0, queued: 0, handshaking: 0 })
    gate.close()
  })

  it('is saturated while its queue is full: watchers hear when it fills, drains in turn, or loses a queued connection', () => {
    const { gate, heard } = watchedGate(2)
    const s = sockets(6)
    for (const socket of s.slice(0, 3)) arrive(gate, socket)
    // Two started (the burst), one queued: room for one more.
    expect(heard).toEqual([])
    expect(gate.isSaturated()).toBe(false)
    gate.admit(s[3]!)
    expect(gate.requestStart(s[3]!, () => {})).toBe('queued')
    expect(heard).toEqual([true])
    expect(gate.isSaturated()).toBe(true)
    // A refusal while saturated changes nothing.
    gate.admit(s[4]!)
    expect(gate.requestStart(s[4]!, () => {})).toBe('refused')
    expect(heard).toEqual([true])
    // A queued connection closing makes room; another one fills it again.
    gate.done(s[2]!)
    expect(heard).toEqual([true, false])
    gate.admit(s[5]!)
    expect(gate.requestStart(s[5]!, () => {})).toBe('queued')
    expect(heard).toEqual([true, false, true])
    // The next token (500 ms) starts one of the two queued: room again.
    vi.advanceTimersByTime(510)
    expect(heard).toEqual([true, false, true, false])
    expect(gate.counts()).toEqual({ sniffing: 0, queued: 1, handshaking: 3 })
    gate.close()
  })

  it('no rate: never saturated', () => {
    const { gate, heard } = watchedGate(0)
    for (const socket of sockets(100)) arrive(gate, socket)
    expect(heard).toEqual([])
    expect(gate.isSaturated()).toBe(false)
    gate.close()
  })

  it('a queued connection that closes leaves the queue and is never started', () => {
    const gate = new HandshakeGate({ maxPerSecond: 1, maxPending: 0, evictAfterMs: 1000 }, () => Date.now())
    const [a, b, c] = sockets(3) as [net.Socket, net.Socket, net.Socket]
    const started: string[] = []
    for (const [socket, name] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      gate.admit(socket)
      gate.requestStart(socket, () => started.push(name))
    }
    gate.done(b)
    gate.admit(c)
    expect(gate.requestStart(c, () => started.push('c'))).toBe('queued')
    vi.advanceTimersByTime(1100)
    expect(started).toEqual(['a', 'c'])
    gate.close()
  })

  it('no rate: every handshake starts at once', () => {
    const gate = new HandshakeGate({ maxPerSecond: 0, maxPending: 0, evictAfterMs: 1000 }, () => Date.now())
    const started: number[] = []
    sockets(1000).forEach((socket, i) => {
      gate.admit(socket)
      expect(gate.requestStart(socket, () => started.push(i))).toBe('started')
    })
    expect(started).toHaveLength(1000)
  })

  it('when full, the oldest connection waiting on its client for the grace period makes room; else the new one is refused', () => {
    const gate = new HandshakeGate({ maxPerSecond: 0, maxPending: 3, evictAfterMs: 1000 }, () => Date.now())
    const [silent, stalled, fresh, late, later] = sockets(5) as [
      net.Socket,
      net.Socket,
      net.Socket,
      net.Socket,
      net.Socket,
    ]
    gate.admit(silent)
    gate.admit(stalled)
    gate.requestStart(stalled, () => {})
    vi.advanceTimersByTime(500)
    gate.admit(fresh)
    // Full, and nobody has waited 1 s yet.
    expect(gate.admit(late)).toEqual({ kind: 'full' })
    vi.advanceTimersByTime(600)
    // The oldest, still sniffing after 1.1 s, goes first; then the stalled handshake.
    expect(gate.admit(late)).toEqual({ kind: 'evict', socket: silent, pendingMs: 1100, phase: 'sniffing' })
    expect(gate.admit(later)).toEqual({ kind: 'evict', socket: stalled, pendingMs: 1100, phase: 'handshaking' })
    expect(gate.phaseOf(silent)).toBeUndefined()
    expect(gate.phaseOf(stalled)).toBeUndefined()
    expect(gate.counts()).toEqual({ sniffing: 3, queued: 0, handshaking: 0 })
  })

  it('a connection waiting for its turn under the rate is never evicted: the wait is the sidecar’s', () => {
    const gate = new HandshakeGate({ maxPerSecond: 1, maxPending: 2, evictAfterMs: 1000 }, () => Date.now())
    const [first, queued, next] = sockets(3) as [net.Socket, net.Socket, net.Socket]
    gate.admit(first)
    gate.requestStart(first, () => {})
    gate.admit(queued)
    expect(gate.requestStart(queued, () => {})).toBe('queued')
    gate.done(first)
    gate.admit(sockets(1)[0]!)
    vi.advanceTimersByTime(5) // not yet a whole token: still queued
    expect(gate.phaseOf(queued)).toBe('queued')
    vi.setSystemTime(Date.now() + 2000)
    // Both pending have waited 2 s; the queued one is skipped, the sniffing one goes.
    const admission = gate.admit(next)
    expect(admission.kind).toBe('evict')
    expect(admission.kind === 'evict' && admission.socket).not.toBe(queued)
    gate.close()
  })
})
