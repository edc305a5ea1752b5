/**
 * A byte relay with no Kafka knowledge: the floor any proxy on this machine starts from (an extra hop through
 * the kernel, two more copies per byte). Same I/O as the sidecar: both sides read into reused buffers (net
 * onread; the accepted side re-wrapped by src/server/accepted-socket.ts), writes are paused on backpressure.
 * Run as a separate process by bench/passthrough.ts --relay=node, in front of a broker listener that advertises the relay's address
 * (KafkaCluster listeners.relayed), so real clients work through it.
 *
 *   node dist/bench/relay.js LISTEN_PORT TARGET_HOST TARGET_PORT
 */
import net from 'node:net'
import { reusedReadServer } from '../src/server/accepted-socket.js'
import { CLIENT_READ_BUFFER_BYTES, UPSTREAM_READ_BUFFER_BYTES } from '../src/server/reused-read-buffer.js'

const [listenPort, targetHost, targetPort] = process.argv.slice(2)
if (!listenPort || !targetHost || !targetPort) {
  console.error('usage: relay.js LISTEN_PORT TARGET_HOST TARGET_PORT')
  process.exit(2)
}

/** Reads from the broker as large as the sidecar's. */
const READ_BYTES = UPSTREAM_READ_BUFFER_BYTES

reusedReadServer(CLIENT_READ_BUFFER_BYTES, (client, clientReads) => {
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
        if (client.writableLength > 0) buffer = Buffer.allocUnsafeSlow(READ_BYTES)
        return true
      },
    },
  })
  upstream.setNoDelay(true)
  const toUpstream = (chunk: Buffer) => {
    if (!upstream.write(chunk)) {
      client.pause()
      upstream.once('drain', () => client.resume())
    }
  }
  // Client reads into its reused buffer, given up while the broker has not taken a write (as the sidecar does).
  if (clientReads !== undefined)
    clientReads.attach((chunk) => {
      toUpstream(chunk)
      return upstream.writableLength > 0
    })
  else client.on('data', toUpstream)
  const close = () => {
    client.destroy()
    upstream.destroy()
  }
  for (const s of [client, upstream]) {
    s.on('error', close)
    s.on('close', close)
  }
}).listen(Number(listenPort), '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
