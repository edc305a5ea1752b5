import type { IncomingMessage, ServerResponse } from 'node:http'
import { isIP } from 'node:net'
import { parseTapSpec, TapConfigError } from './config.js'
import { TapAdminError, type TapEngine } from './engine.js'

/**
 * The tap's admin endpoint route, /filters/tap:
 *
 *   GET                      the taps running, their counts, the queue and the destinations
 *   POST  {tap as in the file, plus durationMs}   starts a tap (or restarts one of the same name) for durationMs
 *   DELETE ?name=NAME        stops an admin tap before its time
 *
 * POST and DELETE are taken from loopback addresses only unless control.allowRemote is set: the admin endpoint may
 * listen wider (for /metrics), and a tap copies traffic somewhere else.
 */

export const TAP_ROUTE = '/filters/tap'
/** A tap specification is a few hundred bytes; anything much larger is not one. */
const MAX_BODY_BYTES = 64 * 1024

export function tapRoute(engine: () => TapEngine | undefined) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const e = engine()
    if (e === undefined) {
      send(res, 404, { error: 'the tap filter is no longer configured' })
      return
    }
    const method = req.method ?? 'GET'
    if (method === 'GET' || method === 'HEAD') {
      send(res, 200, e.describe())
      return
    }
    if (method !== 'POST' && method !== 'DELETE') {
      send(res, 405, { error: `${method} is not served: GET, POST or DELETE ${TAP_ROUTE}` })
      return
    }
    if (!e.control.enabled) {
      send(res, 403, { error: 'tap control is off (filters: tap: control.enabled: false)' })
      return
    }
    const peer = req.socket.remoteAddress ?? ''
    if (!e.control.allowRemote && !isLoopback(peer)) {
      send(res, 403, {
        error: `tap control is taken from loopback only, not ${peer} (filters: tap: control.allowRemote: true allows it)`,
      })
      return
    }
    try {
      if (method === 'DELETE') {
        const name = new URL(req.url ?? '/', 'http://x').searchParams.get('name')
        if (!name) throw new TapAdminError(400, `say which tap: DELETE ${TAP_ROUTE}?name=NAME`)
        const tap = e.stopAdminTap(name)
        send(res, 200, { stopped: tap.name, counts: e.countsOf(tap.name) })
        return
      }
      const raw = await readJson(req)
      const spec = parseTapSpec(raw, 'tap', {
        admin: { maxDurationMs: e.control.maxDurationMs },
        clusters: e.clusterNames,
      })
      const tap = e.startAdminTap(spec)
      send(res, 201, { started: tap.describe() })
    } catch (err) {
      if (err instanceof TapAdminError) send(res, err.status, { error: err.message })
      else if (err instanceof TapConfigError) send(res, 400, { error: err.message.replace(/^filters: tap: /, '') })
      else throw err
    }
  }
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 (a dual-stack listener reports ::ffff:127.0.0.1). */
export function isLoopback(address: string): boolean {
  const a = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address
  return a === '::1' || (isIP(a) === 4 && a.startsWith('127.'))
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) throw new TapAdminError(413, `a tap specification is at most ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk as Buffer)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch (err) {
    throw new TapAdminError(400, `the body is not JSON: ${(err as Error).message}`)
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}
