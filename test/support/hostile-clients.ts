import net from 'node:net'

/**
 * Raw clients that misbehave on purpose (issue 15), shared by test/integration/hostile-clients.test.ts and
 * bench/hostile.ts. Each pattern reports what the sidecar did to its connections, seen from the client side:
 * closed by the sidecar (end, reset, or refused at connect) or still open when the pattern let go.
 */

/** What happened to a pattern's connections. */
export interface HostileOutcome {
  /** Connections attempted. */
  readonly attempted: number
  /** Connections the sidecar ended or reset before the pattern let go (refusal at accept included). */
  readonly closedBySidecar: number
  /** Connections that failed before they were established (ECONNREFUSED, EMFILE, ...). */
  readonly failedToConnect: number
  /** Connections still open when the pattern closed them itself. */
  readonly stillOpen: number
  /** Bytes the sockets accepted for writing (what the sidecar may have had to read). */
  readonly bytesWritten: number
  /** How long after its start each connection closed by the sidecar was closed, in ms. */
  readonly closedAfterMs: readonly number[]
}

/** A raw connection that records whether, and when, the other side closed it. */
export class HostileSocket {
  readonly socket: net.Socket
  readonly startedAt = Date.now()
  /** Set when the sidecar closed (FIN or RST) before we did. */
  closedByPeerAt: number | undefined
  /** Set when the connection never came up. */
  connectError: Error | undefined
  bytesWritten = 0
  private ownClose = false
  readonly connected: Promise<boolean>
  readonly closed: Promise<void>

  constructor(address: string) {
    const { host, port } = splitAddress(address)
    this.socket = net.connect({ host, port })
    this.socket.setNoDelay(true)
    let established = false
    this.connected = new Promise((resolve) => {
      this.socket.once('connect', () => {
        established = true
        resolve(true)
      })
      this.socket.once('close', () => resolve(false))
    })
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()))
    const peerClosed = () => {
      if (!this.ownClose && this.closedByPeerAt === undefined) this.closedByPeerAt = Date.now()
    }
    this.socket.on('data', () => {})
    this.socket.on('end', peerClosed)
    this.socket.on('error', (err) => {
      if (!established) this.connectError = err
      else peerClosed()
    })
    this.socket.on('close', () => {
      if (established) peerClosed()
    })
  }

  get open(): boolean {
    return this.closedByPeerAt === undefined && this.connectError === undefined && !this.socket.destroyed
  }

  /** Writes `bytes`, waiting for the socket to drain; false when the connection is gone. */
  async write(bytes: Buffer): Promise<boolean> {
    if (!this.open) return false
    const flushed = this.socket.write(bytes)
    this.bytesWritten += bytes.length
    if (flushed) return true
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        this.socket.off('drain', onDrain)
        this.socket.off('close', onClose)
        resolve(ok)
      }
      const onDrain = () => done(true)
      const onClose = () => done(false)
      this.socket.on('drain', onDrain)
      this.socket.on('close', onClose)
    })
  }

  /** Closes from our side (a reset: nothing is flushed). */
  destroy(): Promise<void> {
    if (!this.socket.destroyed) {
      this.ownClose = this.closedByPeerAt === undefined
      this.socket.destroy()
    }
    return this.closed
  }
}

export function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':')
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) }
}

/** Tallies sockets once a pattern is done with them (call before destroying the survivors). */
export function outcomeOf(sockets: readonly HostileSocket[]): HostileOutcome {
  const closed = sockets.filter((s) => s.closedByPeerAt !== undefined)
  return {
    attempted: sockets.length,
    closedBySidecar: closed.length,
    failedToConnect: sockets.filter((s) => s.connectError !== undefined).length,
    stillOpen: sockets.filter((s) => s.open).length,
    bytesWritten: sockets.reduce((n, s) => n + s.bytesWritten, 0),
    closedAfterMs: closed.map((s) => s.closedByPeerAt! - s.startedAt),
  }
}

/** ApiVersions (key 18). */
export const API_VERSIONS_KEY = 18

/**
 * The first bytes of a request frame: size prefix, then a request header v1 (api key, version, correlation id,
 * client id as a nullable INT16 string). ApiVersions v0-v2 use header v1 (ApiVersionsRequest.json, flexible from
 * v3), so this is a well-formed start of an ApiVersions v0 request whatever size it announces.
 */
export function requestStart(announcedBytes: number, apiKey = API_VERSIONS_KEY, apiVersion = 0): Buffer {
  const b = Buffer.alloc(14)
  b.writeUInt32BE(announcedBytes >>> 0, 0)
  b.writeInt16BE(apiKey, 4)
  b.writeInt16BE(apiVersion, 6)
  b.writeInt32BE(1, 8)
  b.writeInt16BE(4, 12) // client id "evil" follows
  return Buffer.concat([b, Buffer.from('evil')])
}

/**
 * A complete ApiVersions v0 request (header v1 with `clientId`, empty body): 14 + clientId bytes with the size
 * prefix. What a slowloris trickles; a longer client id makes one request take longer to trickle.
 */
export function apiVersionsV0Request(clientId = 'slow'): Buffer {
  const id = Buffer.from(clientId)
  const header = Buffer.alloc(4 + 2 + 2 + 4 + 2)
  header.writeUInt32BE(2 + 2 + 4 + 2 + id.length, 0)
  header.writeInt16BE(API_VERSIONS_KEY, 4)
  header.writeInt16BE(0, 6)
  header.writeInt32BE(7, 8)
  header.writeInt16BE(id.length, 12)
  return Buffer.concat([header, id])
}

const CHUNK = Buffer.alloc(1024 * 1024, 0x61)

export interface AnnounceOptions {
  readonly address: string
  readonly connections: number
  /** The first bytes each connection sends (usually a size prefix and a header). */
  readonly start: Buffer
  /** Bytes sent after `start` (filler), as fast as the sidecar reads them. */
  readonly followBytes: number
  /** How long to keep the connections open after the last byte, to see whether the sidecar closes them. */
  readonly holdMs: number
  /** Ends the hold early. */
  readonly until?: Promise<unknown>
}

/**
 * Each connection sends `start` and then `followBytes` of filler, all connections at once, then holds its
 * connection open for `holdMs`. The 100 MiB ApiVersions burst, a frame of exactly maxFrameBytes followed by
 * garbage, and a 2 GB size prefix followed by 10 MB are all this.
 */
export async function announceAndSend(o: AnnounceOptions, onSent?: () => void): Promise<HostileOutcome> {
  const sockets = Array.from({ length: o.connections }, () => new HostileSocket(o.address))
  await Promise.all(
    sockets.map(async (s) => {
      if (!(await s.connected)) return
      if (!(await s.write(o.start))) return
      let left = o.followBytes
      while (left > 0) {
        const n = Math.min(left, CHUNK.length)
        if (!(await s.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n)))) return
        left -= n
      }
    }),
  )
  onSent?.()
  await holdUnlessAllClosed(sockets, o.holdMs, o.until)
  const outcome = outcomeOf(sockets)
  await Promise.all(sockets.map((s) => s.destroy()))
  return outcome
}

export interface IdleOptions {
  readonly address: string
  readonly connections: number
  readonly holdMs: number
  /** Connections opened at a time (the listen backlog is finite). Default 200. */
  readonly batch?: number
  /** Called once every connection is open (or has failed), before the hold. */
  readonly onOpen?: () => void | Promise<void>
  /** Ends the hold early. */
  readonly until?: Promise<unknown>
}

/** Opens `connections` sockets that never send a byte, holds them, then closes them all. */
export async function idleSockets(o: IdleOptions): Promise<HostileOutcome> {
  const sockets: HostileSocket[] = []
  const batch = o.batch ?? 200
  for (let i = 0; i < o.connections; i += batch) {
    const group = Array.from({ length: Math.min(batch, o.connections - i) }, () => new HostileSocket(o.address))
    sockets.push(...group)
    await Promise.all(group.map((s) => s.connected))
  }
  await o.onOpen?.()
  await holdUnlessAllClosed(sockets, o.holdMs, o.until)
  const outcome = outcomeOf(sockets)
  await Promise.all(sockets.map((s) => s.destroy()))
  return outcome
}

export interface ChurnOptions {
  readonly address: string
  readonly perSecond: number
  readonly durationMs: number
  /** Ends the churn early. */
  readonly until?: Promise<unknown>
}

/** Opens connections at `perSecond` for `durationMs`; each is closed by the client as soon as it is up. */
export async function churn(o: ChurnOptions): Promise<HostileOutcome> {
  const sockets: HostileSocket[] = []
  const tickMs = 20
  const perTick = Math.max(1, Math.round((o.perSecond * tickMs) / 1000))
  const started = Date.now()
  const pending: Promise<void>[] = []
  let opened = 0
  const stop = flagOf(o.until)
  while (Date.now() - started < o.durationMs && !stop.set) {
    const due = Math.floor(((Date.now() - started) / 1000) * o.perSecond) + perTick
    while (opened < due) {
      const s = new HostileSocket(o.address)
      sockets.push(s)
      opened++
      pending.push(s.connected.then(() => s.destroy()))
    }
    await sleep(tickMs)
  }
  await Promise.all(pending)
  return outcomeOf(sockets)
}

export interface SlowlorisOptions {
  readonly address: string
  readonly connections: number
  /** What each connection trickles, one byte per `intervalMs` (repeated if it runs out). */
  readonly request: Buffer
  readonly intervalMs: number
  readonly durationMs: number
  /** Ends the trickle early. */
  readonly until?: Promise<unknown>
  /** Called once every connection is open (or has failed). */
  readonly onOpen?: () => void
}

/** Each connection sends one byte of a valid request every `intervalMs` for `durationMs`, then closes. */
export async function slowloris(o: SlowlorisOptions): Promise<HostileOutcome> {
  const sockets = Array.from({ length: o.connections }, () => new HostileSocket(o.address))
  await Promise.all(sockets.map((s) => s.connected))
  o.onOpen?.()
  const started = Date.now()
  const stop = flagOf(o.until)
  let i = 0
  while (Date.now() - started < o.durationMs && !stop.set && sockets.some((s) => s.open)) {
    const byte = o.request.subarray(i % o.request.length, (i % o.request.length) + 1)
    i++
    for (const s of sockets) if (s.open) void s.write(byte)
    await sleep(o.intervalMs)
  }
  const outcome = outcomeOf(sockets)
  await Promise.all(sockets.map((s) => s.destroy()))
  return outcome
}

/** Waits until every socket closed, `until` settles or `holdMs` passed, whichever comes first. */
export async function holdUnlessAllClosed(
  sockets: readonly { readonly closed: Promise<unknown> }[],
  holdMs: number,
  until?: Promise<unknown>,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    Promise.all(sockets.map((s) => s.closed)),
    ...(until === undefined ? [] : [until]),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, holdMs)
    }),
  ])
  clearTimeout(timer)
}

/** A flag that turns true once `until` settles. */
export function flagOf(until: Promise<unknown> | undefined): { set: boolean } {
  const flag = { set: false }
  void until?.finally(() => {
    flag.set = true
  })
  return flag
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
