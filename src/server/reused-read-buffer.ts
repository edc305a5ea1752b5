import type net from 'node:net'

/**
 * Reads a plain TCP socket into one buffer that is used again read after read (net.Socket's `onread` option),
 * instead of the new 64 KiB ArrayBuffer Node allocates for every read. At a few hundred MB/s those are thousands
 * of short-lived off-heap buffers a second, and V8 reclaims them only by garbage collection: young-generation
 * scavenges, and full mark-compacts when the external memory they add up to crosses V8's limit (measured with
 * --trace-gc on a Fetch stream at ~300 MB/s: a mark-compact every 100-200 ms, ~1/4 of the sidecar's CPU in
 * perf). With the reused buffer a plain Node relay spent 0.30-0.47 CPU s/GB instead of 0.52-0.97 (BENCHMARKS.md).
 *
 * The price is a contract: a chunk is valid only until its sink returns. A sink that keeps any of it (a frame
 * buffered for a filter, a write the kernel did not take at once) returns true, and the next read goes to a fresh
 * buffer; the kept one is left to whoever holds it. `onread` is an option of the net.Socket constructor only
 * (nodejs/node#25436 added it; #53792 notes where it is accepted): net.connect passes it on, which serves plain
 * broker connections, and accepted client connections get it by being re-wrapped (accepted-socket.ts). TLS sockets
 * on either side keep Node's own buffers (tls.connect and tls.Server take no such option). Node calls `buffer`
 * again after every delivery, which is how a kept buffer is replaced.
 */
export class ReusedReadBuffer {
  private buffer: Buffer | undefined
  private sink: ((chunk: Buffer) => boolean) | undefined
  /** Reads that arrived before a sink was attached (sinks attach at once, and brokers do not speak first), as copies. */
  private early: Buffer[] = []
  /** Reads whose buffer a sink kept (for tests and statistics). */
  lent = 0

  constructor(readonly size: number) {}

  /** The `onread` option for net.connect. Node asks `buffer` for the memory of each next read. */
  readonly onread: net.OnReadOpts = {
    // allocUnsafeSlow: a buffer of its own (not a slice of Node's shared pool); untouched pages cost no memory.
    buffer: () => {
      this.buffer ??= Buffer.allocUnsafeSlow(this.size)
      return this.buffer
    },
    callback: (n: number, buf: Uint8Array) => {
      const chunk = Buffer.from(buf.buffer, buf.byteOffset, n)
      if (this.sink === undefined) this.early.push(Buffer.from(chunk))
      else if (this.sink(chunk)) {
        this.lent++
        this.buffer = undefined
      }
      return true
    },
  }

  /** From now on every read goes to `sink` (after any that came early). True from the sink: it kept the chunk. */
  attach(sink: (chunk: Buffer) => boolean): void {
    this.sink = sink
    const early = this.early
    this.early = []
    for (const chunk of early) sink(chunk)
  }
}

/** Upstream read buffer size: larger reads, fewer calls per MB (256 KiB vs 64 KiB: ~25% less CPU in a relay). */
export const UPSTREAM_READ_BUFFER_BYTES = 256 * 1024

/**
 * Client read buffer size (plain listeners, accepted-socket.ts): as large as upstream's, so a Produce request of a
 * few hundred KiB arrives in one or two reads. Memory is taken only as pages are written: an idle connection that
 * only ever sent ApiVersions and Metadata holds a page or two of it.
 */
export const CLIENT_READ_BUFFER_BYTES = 256 * 1024
