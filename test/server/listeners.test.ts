import net from 'node:net'
import tls from 'node:tls'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { CauseTracker, createLogger } from '../../src/logger.js'
import {
  connectionFootprint,
  PLAIN_CONNECTION_BYTES,
  TLS_CONNECTION_BYTES,
} from '../../src/server/connection-footprint.js'
import { ConnectionRefusals } from '../../src/server/connection-refusals.js'
import { Listeners, plainServer } from '../../src/server/listeners.js'
import { MemoryBudget } from '../../src/server/memory-budget.js'
import { registerConnectionMetrics } from '../../src/stats/connection-metrics.js'
import { waitFor as waitForProbe } from '../harness/wait-for.js'
import { HostileSocket } from '../support/hostile-clients.js'

const PLAN = { bindHost: '127.0.0.1', advertisedHost: '127.0.0.1', portBase: 0, ports: {}, controllerPortBase: 0 }

function setup(max: { value: number }, silentGraceMs = 60_000, memory?: MemoryBudget) {
  const lines: Record<string, unknown>[] = []
  const log = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } })
  const refusals = new ConnectionRefusals(new CauseTracker())
  const accepted: net.Socket[] = []
  const listeners = new Listeners(
    { host: '127.0.0.1', port: 0 },
    PLAN,
    plainServer,
    (socket) => {
      accepted.push(socket)
      socket.resume()
      socket.on('error', () => {})
    },
    log,
    { maxClientConnections: () => max.value, refusals, silentGraceMs, ...(memory && { memory }) },
  )
  return { lines, refusals, accepted, listeners }
}

const until = (probe: () => boolean) =>
  waitForProbe('the listener to catch up', probe, { timeoutMs: 5000, intervalMs: 10 })

const open: HostileSocket[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.destroy()))
})

function connect(address: string): HostileSocket {
  const s = new HostileSocket(address)
  open.push(s)
  return s
}

describe('Listeners: limits.maxClientConnections', () => {
  it('closes connections over the limit at once when none is silent long enough, counts and logs them once, and admits again when one closes', async () => {
    const max = { value: 3 }
    const { lines, refusals, accepted, listeners } = setup(max)
    const { host, port } = await listeners.start()
    const address = `${host}:${port}`
    try {
      const first = [connect(address), connect(address), connect(address)]
      await until(() => accepted.length === 3)
      expect(listeners.connectionsOpen().get('bootstrap')).toBe(3)

      const over = [connect(address), connect(address)]
      await Promise.all(over.map((s) => s.closed))
      expect(over.every((s) => s.closedByPeerAt !== undefined)).toBe(true)
      expect(accepted).toHaveLength(3) // never handed to the connection runtime
      expect(first.every((s) => s.open)).toBe(true)
      expect(refusals.counts().get('listener_full')).toBe(2)
      const logged = lines.filter((l) => l.code === 'KSC_ERR_LISTEN_CONNECTION_LIMIT')
      expect(logged).toHaveLength(1)
      expect(String(logged[0]!.msg)).toContain('limits.maxClientConnections')

      // One closes: its place is free again.
      await first[0]!.destroy()
      await until(() => listeners.connectionsOpen().get('bootstrap') === 2)
      const again = connect(address)
      await until(() => accepted.length === 4)
      expect(again.open).toBe(true)

      // The limit is read at every accept: a reload that raises it applies at once; 0 is no limit.
      max.value = 0
      const more = Array.from({ length: 5 }, () => connect(address))
      await until(() => accepted.length === 9)
      expect(more.every((s) => s.open)).toBe(true)
      expect(refusals.total()).toBe(2)

      const registry = new Registry()
      registerConnectionMetrics(registry, { refusals })
      expect(await registry.metrics()).toContain('kafka_sidecar_connections_refused_total{reason="listener_full"} 2')
    } finally {
      for (const s of accepted) s.destroy()
      listeners.stopAccepting()
      refusals.close()
    }
  })

  it('makes room by closing the oldest connection that has sent nothing, never one that has spoken', async () => {
    const max = { value: 3 }
    const { lines, refusals, accepted, listeners } = setup(max, 0)
    const { host, port } = await listeners.start()
    const address = `${host}:${port}`
    try {
      const talker = connect(address)
      await until(() => accepted.length === 1)
      await talker.write(Buffer.from([0, 0, 0, 1, 0]))
      await until(() => accepted[0]!.bytesRead > 0)
      const silent = [connect(address), connect(address)]
      await until(() => accepted.length === 3)

      const late = [connect(address), connect(address)]
      await until(() => accepted.length === 5)
      await Promise.all(silent.map((s) => s.closed))
      expect(silent.every((s) => s.closedByPeerAt !== undefined)).toBe(true)
      expect(talker.open).toBe(true)
      expect(late.every((s) => s.open)).toBe(true)
      expect(refusals.counts().get('evicted_silent')).toBe(2)
      expect(lines.filter((l) => l.code === 'KSC_ERR_LISTEN_SILENT_EVICTED')).toHaveLength(1)

      // Now the two late ones are the silent ones; once they speak, there is nothing to evict: refused.
      await Promise.all(late.map((s) => s.write(Buffer.from([0]))))
      await until(() => accepted.slice(3).every((s) => s.bytesRead > 0))
      const refused = connect(address)
      await refused.closed
      expect(refused.closedByPeerAt).toBeDefined()
      expect(refusals.counts().get('listener_full')).toBe(1)
      expect(listeners.connectionsOpen().get('bootstrap')).toBe(3)
    } finally {
      for (const s of accepted) s.destroy()
      listeners.stopAccepting()
      refusals.close()
    }
  })
})

describe('Listeners: client connections held against limits.memoryBudgetBytes', () => {
  it('a TLS connection is counted at 64 KiB, a plain one at 16 KiB', () => {
    const plain = new net.Socket()
    const secure = new tls.TLSSocket(new net.Socket())
    try {
      expect(connectionFootprint(plain)).toBe(PLAIN_CONNECTION_BYTES)
      expect(connectionFootprint(secure)).toBe(TLS_CONNECTION_BYTES)
      expect([PLAIN_CONNECTION_BYTES, TLS_CONNECTION_BYTES]).toEqual([16 * 1024, 64 * 1024])
    } finally {
      plain.destroy()
      secure.destroy()
    }
  })

  it('refuses connections over half the budget whatever maxClientConnections allows, makes room from silent ones, and gives the memory back on close', async () => {
    // Half of this budget holds three plain connections.
    const memory = new MemoryBudget(6 * PLAIN_CONNECTION_BYTES)
    const { lines, refusals, accepted, listeners } = setup({ value: 0 }, 0, memory)
    const { host, port } = await listeners.start()
    const address = `${host}:${port}`
    try {
      const talkers = [connect(address), connect(address)]
      await until(() => accepted.length === 2)
      await Promise.all(talkers.map((s) => s.write(Buffer.from([0, 0, 0, 1, 0]))))
      await until(() => accepted.every((s) => s.bytesRead > 0))
      const silent = connect(address)
      await until(() => accepted.length === 3)
      expect(memory.heldByConnections).toBe(3 * PLAIN_CONNECTION_BYTES)

      // Full: the silent one makes room for the next.
      const fourth = connect(address)
      await until(() => accepted.length === 4)
      await silent.closed
      expect(silent.closedByPeerAt).toBeDefined()
      expect(refusals.counts().get('evicted_silent')).toBe(1)
      await fourth.write(Buffer.from([0]))
      await until(() => accepted[3]!.bytesRead > 0)

      // Every one has spoken: the next are refused at accept, never handed over, and logged once.
      const over = [connect(address), connect(address)]
      await Promise.all(over.map((s) => s.closed))
      expect(over.every((s) => s.closedByPeerAt !== undefined)).toBe(true)
      expect(accepted).toHaveLength(4)
      expect(refusals.counts().get('memory_budget')).toBe(2)
      const evicted = lines.filter((l) => l.code === 'KSC_ERR_CONNECTION_MEMORY_EVICTED')
      expect(evicted).toHaveLength(1)
      expect(String(evicted[0]!.msg)).toContain('closed a connection that had sent nothing')
      const logged = lines.filter((l) => l.code === 'KSC_ERR_CONNECTION_MEMORY')
      expect(logged).toHaveLength(1)
      expect(String(logged[0]!.msg)).toContain('raise limits.memoryBudgetBytes')
      expect(memory.heldByConnections).toBe(3 * PLAIN_CONNECTION_BYTES)

      const registry = new Registry()
      registerConnectionMetrics(registry, { refusals, connectionsMemory: () => memory.heldByConnections })
      const text = await registry.metrics()
      expect(text).toContain('kafka_sidecar_connections_refused_total{reason="memory_budget"} 2')
      expect(text).toContain(`kafka_sidecar_connections_memory_bytes ${3 * PLAIN_CONNECTION_BYTES}`)

      // One closes: its memory is free again, and a new connection gets in.
      await talkers[0]!.destroy()
      await until(() => memory.heldByConnections === 2 * PLAIN_CONNECTION_BYTES)
      const again = connect(address)
      await until(() => accepted.length === 5)
      expect(again.open).toBe(true)
      for (const s of accepted) s.destroy()
      await until(() => memory.heldByConnections === 0)
    } finally {
      for (const s of accepted) s.destroy()
      listeners.stopAccepting()
      refusals.close()
    }
  })
})
