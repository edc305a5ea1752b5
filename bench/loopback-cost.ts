/**
 * What moving bytes over a loopback TCP connection costs the machine, with no work at either end: the floor under
 * anything the sidecar sends to a broker on the same host (a tap's copies cross it once more than the records they
 * copy). Prints the machine's busy CPU seconds (/proc/stat, both ends and the kernel) per 10^9 bytes.
 *
 *   npm run build && node dist/bench/loopback-cost.js [--gb=1] [--chunk-kib=128] [--runs=3]
 */
import { connect, createServer, type Socket } from 'node:net'
import { machineBusySeconds } from './lib/proc.js'

const arg = (name: string, fallback: number): number =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback)
const BYTES = arg('gb', 1) * 1e9
const CHUNK = Buffer.alloc(arg('chunk-kib', 128) * 1024, 1)
const RUNS = arg('runs', 3)

/** One transfer of BYTES from a client socket to a server socket: machine CPU seconds and wall seconds. */
function transfer(): Promise<{ cpu: number; wall: number }> {
  return new Promise((resolve, reject) => {
    let received = 0
    let cpuBefore = 0
    let wallBefore = 0
    let client: Socket | undefined
    const server = createServer((s) => {
      s.on('data', (d: Buffer) => {
        received += d.length
        if (received < BYTES) return
        const result = { cpu: machineBusySeconds() - cpuBefore, wall: (performance.now() - wallBefore) / 1000 }
        s.destroy()
        client?.destroy()
        server.close()
        resolve(result)
      })
    })
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      client = connect(port, '127.0.0.1', () => {
        cpuBefore = machineBusySeconds()
        wallBefore = performance.now()
        let sent = 0
        const pump = (): void => {
          while (sent < BYTES) {
            sent += CHUNK.length
            if (!client!.write(CHUNK)) {
              client!.once('drain', pump)
              return
            }
          }
        }
        pump()
      })
      client.on('error', reject)
    })
  })
}

for (let run = 1; run <= RUNS; run++) {
  const { cpu, wall } = await transfer()
  const gb = BYTES / 1e9
  console.log(
    `run ${run}: ${(cpu / gb).toFixed(2)} machine CPU s per GB over loopback (${CHUNK.length / 1024} KiB writes), ` +
      `${(gb / wall).toFixed(2)} GB/s`,
  )
}
