/**
 * A byte relay with no Kafka knowledge: the floor any proxy on this machine starts from (an extra hop through
 * the kernel, two more copies per byte). Same I/O as the sidecar: the accepted side emits 'data', the broker
 * side reads into a reused buffer (net onread), writes are paused on backpressure. Run as a separate process by
 * bench/passthrough.ts --relay=node, in front of a broker listener that advertises the relay's address
 * (KafkaCluster listeners.relayed), so real clients work through it.
 *
 *   node dist/bench/relay.js LISTEN_PORT TARGET_HOST TARGET_PORT
 */
import net from 'node:net'
import { UPSTREAM_READ_BUFFER_BYTES } from '../src/server/reused-read-buffer.js'

const [listenPort, targetHost, targetPort] = process.argv.slice(2)
if (!listenPort || !targetHost || !targetPort) {
  console.error('usage: relay.js LISTEN_PORT TARGET_HOST TARGET_PORT')
  process.exit(2)
}

/** Reads from the broker as large as the sidecar's. */
const READ_BYTES = UPSTREAM_READ_BUFFER_BYTES

net
  .createServer((client) => {
    client.setNoDelay(true)
    let buffer = Buffer.allocUnsafeSlow(READ_BYTES)
    const upstream = net.connect({
      host: targetHost,
      port: Number(targetPort),
      onread: {
        buffer: () => buffer,
        callback: (n: number, buf: Uint8Array) => {
          if (!client.write(Buffer.from(buf.buffer, buf.byteOffset, n))) {
            upstream.pause()
            client.once('drain', () => upstream.resume())
          }
          // A write the kernel did not take at once still points into the buffer: the next read needs another.
          if (client.writableLength > 0) buffer = Buffer.allocUnsafeSlow(READ_BYTES)
          return true
        },
      },
    })
    upstream.setNoDelay(true)
    client.on('data', (chunk: Buffer) => {
      if (!upstream.write(chunk)) {
        client.pause()
        upstream.once('drain', () => client.resume())
      }
    })
    const close = () => {
      client.destroy()
      upstream.destroy()
    }
    for (const s of [client, upstream]) {
      s.on('error', close)
      s.on('close', close)
    }
  })
  .listen(Number(listenPort), '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
