import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { reusePortSupported } from '../../src/runtime/node-features.js'
import { freePortRange } from '../harness/free-port.js'
import { waitFor } from '../harness/wait-for.js'

/**
 * listen.reusePort as an operator uses it: a second `run` on the same ports while the first still listens, then
 * SIGTERM to the first. Clients connecting all along are never refused. On a Node line without the option (Node
 * 20, where the main suite runs) the setting is refused when the configuration is read, since Node would ignore it
 * and the second process would fail to bind; CI runs this file on the image's Node too, where the handover runs.
 * The upstream is a TCP server that accepts and says nothing: binding and handing over need no broker.
 */

const CLI = new URL('../../dist/src/cli.js', import.meta.url).pathname

let upstream: net.Server
const upstreamSockets = new Set<net.Socket>()
let dir: string
let base: number

beforeAll(async () => {
  expect(existsSync(CLI), 'run npm run build (npm test does it) before this test').toBe(true)
  upstream = net.createServer((s) => {
    upstreamSockets.add(s)
    s.on('error', () => {})
    s.on('close', () => upstreamSockets.delete(s))
  })
  await new Promise<void>((resolve) => upstream.listen({ host: '127.0.0.1', port: 0 }, resolve))
  dir = mkdtempSync(join(tmpdir(), 'ksc-handover-'))
  // bootstrap at base, nodes at base+1.., admin at base+9.
  base = await freePortRange(10)
})
afterAll(async () => {
  for (const s of upstreamSockets) s.destroy()
  await new Promise<void>((resolve) => upstream.close(() => resolve()))
})

interface Generation {
  readonly child: ChildProcess
  output: string
  readonly exited: Promise<number | null>
}

function start(configFile: string): Generation {
  const child = spawn(process.execPath, [CLI, 'run', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KAFKA_SIDECAR_CONFIG: '', KAFKA_SIDECAR_LOG_FORMAT: '', KAFKA_SIDECAR_UPSTREAM: '' },
  })
  const g: Generation = {
    child,
    output: '',
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  }
  child.stdout!.on('data', (c: Buffer) => {
    g.output += c.toString()
  })
  child.stderr!.on('data', (c: Buffer) => {
    g.output += c.toString()
  })
  return g
}

/** Connects to `port` every few ms until stopped; counts connects that succeeded and those refused. */
function connectLoop(port: number): { stop: () => Promise<{ connected: number; refused: number; other: string[] }> } {
  let running = true
  let connected = 0
  let refused = 0
  const other: string[] = []
  const loop = (async () => {
    while (running) {
      await new Promise<void>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port })
        s.once('connect', () => {
          connected++
          s.destroy()
          resolve()
        })
        s.once('error', (err: Error & { code?: string }) => {
          if (err.code === 'ECONNREFUSED') refused++
          else other.push(String(err.code))
          resolve()
        })
      })
      await new Promise((r) => setTimeout(r, 5))
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      return { connected, refused, other }
    },
  }
}

describe('run: listen.reusePort', () => {
  it(reusePortSupported()
    ? 'a second sidecar listens on the same ports while the first still does, and takes over at its SIGTERM with no connect refused'
    : 'is refused when the configuration is read on a Node line without SO_REUSEPORT, saying which Node it needs', async () => {
    const upstreamPort = (upstream.address() as net.AddressInfo).port
    const configFile = join(dir, 'sidecar.yaml')
    writeFileSync(
      configFile,
      [
        `listen: { host: 127.0.0.1, port: ${base}, reusePort: true }`,
        `brokers: { portBase: ${base} }`,
        `upstream: { bootstrap: ["127.0.0.1:${upstreamPort}"] }`,
        `admin: { host: 127.0.0.1, port: ${base + 9} }`,
        '',
      ].join('\n'),
    )

    if (!reusePortSupported()) {
      const g = start(configFile)
      expect(await g.exited).not.toBe(0)
      expect(g.output).toContain('listen.reusePort')
      expect(g.output).toContain(`needs Node 22.12 or later, and this is Node ${process.versions.node}`)
      return
    }

    const up = (g: Generation) => {
      if (g.child.exitCode !== null) throw new Error(`the sidecar exited (${g.child.exitCode}):\n${g.output}`)
      return (
        /"listener":"bootstrap".*"msg":"listening"/.test(g.output) && /"msg":"admin endpoint listening"/.test(g.output)
      )
    }
    const first = start(configFile)
    const gens = [first]
    try {
      await waitFor('the first sidecar listening', () => up(first), { timeoutMs: 20_000 })
      const clients = connectLoop(base)
      await new Promise((r) => setTimeout(r, 200))
      const second = start(configFile)
      gens.push(second)
      await waitFor('the second sidecar listening beside the first', () => up(second), { timeoutMs: 20_000 })
      first.child.kill('SIGTERM')
      expect(await first.exited).toBe(0)
      // Connections after the first is gone reach the second.
      await new Promise((r) => setTimeout(r, 300))
      const seen = await clients.stop()
      expect(seen.refused).toBe(0)
      expect(seen.connected).toBeGreaterThan(20)
      const after = connectLoop(base)
      await new Promise((r) => setTimeout(r, 100))
      expect((await after.stop()).refused).toBe(0)
      expect(second.output).not.toMatch(/"level":(50|60)/)
    } finally {
      for (const g of gens) g.child.kill('SIGTERM')
      await Promise.all(gens.map((g) => g.exited))
    }
  }, 60_000)
})
