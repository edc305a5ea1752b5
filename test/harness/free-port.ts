import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'

/**
 * The lowest port of the kernel's ephemeral range (net.ipv4.ip_local_port_range; Linux default 32768): the local
 * ports of outgoing connections come from there. A listening port chosen below it cannot be taken by one of the
 * many client connections a test run opens (a broker restarted on its old port, a registry started again, found
 * their port used by some connection's local end when they were chosen from the ephemeral range).
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    return Number.isInteger(low) && low > 2048 ? low : 32768
  } catch {
    return 32768
  }
}

const PORTS_FROM = 10_000

/**
 * Reserves `count` distinct free TCP ports on `host`, chosen at random below the ephemeral range (see ephemeralLow)
 * and probed by binding them. All probes stay bound until every port is chosen, so no port is handed out twice;
 * between release and the server's bind another process can still take one, which callers detect and retry (the
 * Kafka cluster does, from the broker log).
 */
export async function allocatePorts(host: string, count: number): Promise<number[]> {
  const servers: Server[] = []
  const top = ephemeralLow()
  try {
    const ports: number[] = []
    for (let attempt = 0; ports.length < count; attempt++) {
      if (attempt > 2000) throw new Error(`no ${count} free ports found on ${host} below ${top}`)
      const port = PORTS_FROM + Math.floor(Math.random() * (top - PORTS_FROM))
      if (ports.includes(port)) continue
      const server = createServer()
      const bound = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false))
        server.listen({ host, port, exclusive: true }, () => resolve(true))
      })
      if (!bound) continue
      servers.push(server)
      ports.push(port)
    }
    return ports
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))))
  }
}

/**
 * A block of `count` consecutive ports on 127.0.0.1 that are all free now, for a proxy that puts node N at
 * base + N (and, with `alsoFreeAt`, as many free at each base + offset: the sidecar's controller range). Chosen at random below the ephemeral range and probed, so concurrent runs on one machine rarely collide; like
 * allocatePorts, another process can still take one before it is bound.
 */
export async function freePortRange(count: number, alsoFreeAt: readonly number[] = []): Promise<number> {
  // Below the ephemeral range (see ephemeralLow), offsets included.
  const span = Math.max(count, ...alsoFreeAt.map((o) => o + count))
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = PORTS_FROM + Math.floor(Math.random() * (ephemeralLow() - PORTS_FROM - span))
    let ok = true
    for (const offset of [0, ...alsoFreeAt])
      for (let port = base + offset; port < base + offset + count && ok; port++)
        ok = port < 65536 && (await isFree(port))
    if (ok) return base
  }
  throw new Error(`no block of ${count} free ports found on 127.0.0.1`)
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)))
  })
}
