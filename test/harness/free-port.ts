import { createServer, type Server } from 'node:net'

/**
 * Reserves `count` distinct free TCP ports on `host` by binding port 0, then releases them for the broker.
 * All sockets stay open until every port is chosen, so the kernel cannot hand the same port out twice.
 * Between release and the JVM's bind another process can still take one; the cluster detects that in the
 * broker log and retries with new ports.
 */
export async function allocatePorts(host: string, count: number): Promise<number[]> {
  const servers: Server[] = []
  try {
    const ports: number[] = []
    for (let i = 0; i < count; i++) {
      const server = createServer()
      servers.push(server)
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen({ host, port: 0, exclusive: true }, () => resolve())
      })
      const address = server.address()
      if (address === null || typeof address === 'string') throw new Error(`cannot read the port bound on ${host}`)
      ports.push(address.port)
    }
    return ports
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))))
  }
}

/**
 * A block of `count` consecutive ports on 127.0.0.1 that are all free now, for a proxy that puts node N at
 * base + N (and, with `alsoFreeAt`, as many free at each base + offset: the sidecar's controller range). Chosen at random in 20000-59999 and probed, so concurrent runs on one machine rarely collide; like
 * allocatePorts, another process can still take one before it is bound.
 */
export async function freePortRange(count: number, alsoFreeAt: readonly number[] = []): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * (40_000 - count))
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
