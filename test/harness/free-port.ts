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
