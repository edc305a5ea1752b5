import { describe, expect, it } from 'vitest'
import { SidecarError } from '../src/errors.js'
import {
  applyLogConfig,
  CauseTracker,
  connectionLogger,
  createLogger,
  frameLoggingEnabled,
  logFormat,
  logFrame,
  logOncePerCause,
  setLogFormat,
} from '../src/logger.js'
import { parseStrictJson } from './support/strict-json.js'

function sink() {
  const lines: Record<string, unknown>[] = []
  return { lines, stream: { write: (s: string) => void lines.push(JSON.parse(s)) } }
}

describe('createLogger', () => {
  it('writes one JSON object per line with the level as a label', () => {
    const { lines, stream } = sink()
    const log = createLogger({ level: 'info', destination: stream })
    log.debug('hidden')
    log.info({ a: 1 }, 'shown')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ level: 'info', a: 1, msg: 'shown', pid: process.pid })
    expect(typeof lines[0]?.time).toBe('string') // ISO time
  })

  it('changes the level of connection loggers created before the change (hot reload)', () => {
    const { lines, stream } = sink()
    const root = createLogger({ level: 'info', destination: stream })
    const conn = connectionLogger(root, { connectionId: 7, remote: '10.0.0.1:5555' })
    const nested = conn.child({ api: 'Produce' })
    nested.debug('before')
    applyLogConfig(root, { level: 'debug', frames: false })
    nested.debug('after')
    applyLogConfig(root, { level: 'error', frames: false })
    conn.warn('suppressed')
    expect(lines).toEqual([
      expect.objectContaining({ level: 'debug', conn: 7, remote: '10.0.0.1:5555', api: 'Produce', msg: 'after' }),
    ])
  })

  it('switches frame logging at runtime, independently of the level', () => {
    const { lines, stream } = sink()
    const root = createLogger({ level: 'info', destination: stream })
    const conn = connectionLogger(root, { connectionId: 1 })
    logFrame(conn, { apiKey: 0 }, 'frame')
    expect(frameLoggingEnabled(conn)).toBe(false)
    applyLogConfig(root, { level: 'info', frames: true })
    expect(frameLoggingEnabled(conn)).toBe(true)
    logFrame(conn, { apiKey: 3, size: 42 }, 'frame')
    conn.debug('other debug output stays off')
    applyLogConfig(root, { level: 'info', frames: false })
    logFrame(conn, { apiKey: 1 }, 'frame')
    expect(lines).toEqual([expect.objectContaining({ level: 'debug', frame: true, conn: 1, apiKey: 3, size: 42 })])
  })
})

describe('createLogger: log format', () => {
  function textSink() {
    const lines: string[] = []
    return { lines, stream: { write: (s: string) => void lines.push(s) } }
  }

  it('pretty: one readable line per entry, fields after the message, no colours into a stream', () => {
    const { lines, stream } = textSink()
    const log = createLogger({ format: 'pretty', destination: stream })
    log.child({ conn: 3 }).info({ clientId: 'app', requests: 2 }, 'connection closed')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: connection closed \{"conn":3,"clientId":"app","requests":2\}\n$/,
    )
    expect(logFormat(log)).toBe('pretty')
  })

  it('switches between json and pretty at runtime, for children made before the switch too (hot reload)', () => {
    const { lines, stream } = textSink()
    const root = createLogger({ destination: stream })
    const conn = root.child({ conn: 1 })
    conn.info('as json')
    applyLogConfig(root, { level: 'info', frames: false, format: 'pretty' })
    conn.info('as text')
    setLogFormat(root, 'json')
    conn.info('json again')
    expect(JSON.parse(lines[0]!)).toMatchObject({ conn: 1, msg: 'as json' })
    expect(lines[1]).toMatch(/\] INFO: as text \{"conn":1\}\n$/)
    expect(JSON.parse(lines[2]!)).toMatchObject({ conn: 1, msg: 'json again' })
  })
})

describe('createLogger: one field name once per line', () => {
  /** Lines read with the strict parser: a repeated name fails the test. */
  function strictSink() {
    const lines: Record<string, unknown>[] = []
    return { lines, stream: { write: (s: string) => void lines.push(parseStrictJson(s) as Record<string, unknown>) } }
  }

  it('a call field named like a binding replaces it for that line only', () => {
    const { lines, stream } = strictSink()
    const conn = createLogger({ destination: stream }).child({ conn: 1, clientId: 'old' })
    conn.info({ clientId: 'old', requests: 3 }, 'connection closed')
    conn.info({ clientId: 'new' }, 'renamed')
    conn.info('plain')
    expect(lines.map(({ conn, clientId, requests, msg }) => ({ conn, clientId, requests, msg }))).toEqual([
      { conn: 1, clientId: 'old', requests: 3, msg: 'connection closed' },
      { conn: 1, clientId: 'new', requests: undefined, msg: 'renamed' },
      { conn: 1, clientId: 'old', requests: undefined, msg: 'plain' },
    ])
  })

  it("a child's binding replaces its parent's of the same name, at any depth", () => {
    const { lines, stream } = strictSink()
    const root = createLogger({ destination: stream, base: { pod: 'p1' } })
    const conn = connectionLogger(root, { connectionId: 4, remote: '10.0.0.1:5555' })
    const named = conn.child({ clientId: 'a' }).child({ clientId: 'b', remote: '10.0.0.2:6666' })
    named.warn({ pid: 1 }, 'x')
    named.child({ pod: 'p2' }).info('y')
    expect(lines[0]).toMatchObject({ conn: 4, clientId: 'b', remote: '10.0.0.2:6666', pod: 'p1', pid: 1 })
    expect(lines[1]).toMatchObject({ conn: 4, clientId: 'b', pod: 'p2', pid: process.pid })
  })

  it('keeps call fields named like the ones pino writes itself (level, time, msg) under another name', () => {
    const { lines, stream } = strictSink()
    createLogger({ destination: stream }).error({ level: 'x', time: 5, msg: 'inner' }, 'outer')
    expect(lines[0]).toMatchObject({ level: 'error', msg: 'outer', level_: 'x', time_: 5, msg_: 'inner' })
    expect(typeof lines[0]?.time).toBe('string')
  })

  it('keeps errors, frame lines and repeated causes strict too', () => {
    const { lines, stream } = strictSink()
    const root = createLogger({ level: 'info', destination: stream, frames: true })
    const conn = connectionLogger(root, { connectionId: 2 }).child({ code: 'bound' })
    conn.error(new Error('boom'))
    conn.warn({ err: new Error('e'), conn: 2 }, 'with err')
    logFrame(conn, { conn: 2, apiKey: 3 }, 'frame')
    const tracker = new CauseTracker({ summaryIntervalMs: 0 })
    tracker.record(conn, 'client-a', new SidecarError('KSC_ERR_X', 'bad'))
    tracker.record(conn, 'client-a', new SidecarError('KSC_ERR_X', 'bad'))
    tracker.flush(true)
    expect(lines.map((l) => l.msg)).toEqual([
      'boom',
      'with err',
      'frame',
      'KSC_ERR_X (client-a): bad; repeats are counted, not logged',
      expect.stringMatching(/^1 more of KSC_ERR_X \(client-a\) since /),
    ])
    expect(lines[3]).toMatchObject({ code: 'KSC_ERR_X', conn: 2 })
    tracker.close()
  })
})

describe('logOncePerCause', () => {
  it('logs the first occurrence, counts repeats and summarizes at most once per interval', () => {
    const { lines, stream } = sink()
    const log = createLogger({ destination: stream })
    const t0 = Date.parse('2025-01-01T00:00:00Z')
    let now = t0
    const tracker = new CauseTracker({ now: () => now })
    const err = new SidecarError('KSC_ERR_SERVER_BAD_FRAME', 'client sent garbage')

    expect(logOncePerCause(log, 'client-a', err, { tracker })).toBe(true)
    now += 1000
    expect(logOncePerCause(log, 'client-a', err, { tracker })).toBe(false)
    now += 1000
    logOncePerCause(log, 'client-a', err, { tracker })
    logOncePerCause(log, 'client-b', err, { tracker, level: 'error' }) // another key is another cause
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'KSC_ERR_SERVER_BAD_FRAME (client-a): client sent garbage; repeats are counted, not logged'],
      ['error', 'KSC_ERR_SERVER_BAD_FRAME (client-b): client sent garbage; repeats are counted, not logged'],
    ])
    expect(lines[0]?.err).toMatchObject({ message: 'client sent garbage', code: 'KSC_ERR_SERVER_BAD_FRAME' })

    tracker.flush() // less than a minute since the first repeat: nothing yet
    expect(lines).toHaveLength(2)
    now += 60_000
    tracker.flush()
    expect(lines.slice(2).map((l) => l.msg)).toEqual([
      '2 more of KSC_ERR_SERVER_BAD_FRAME (client-a) since 2025-01-01T00:00:01.000Z',
    ])
    tracker.flush() // nothing new since
    now += 10_000
    logOncePerCause(log, 'client-a', err, { tracker })
    now += 30_000
    tracker.flush()
    expect(lines).toHaveLength(3)

    expect(tracker.counts()).toEqual([
      { code: 'KSC_ERR_SERVER_BAD_FRAME', key: 'client-a', count: 4, firstAt: t0, lastAt: t0 + 72_000 },
      { code: 'KSC_ERR_SERVER_BAD_FRAME', key: 'client-b', count: 1, firstAt: t0 + 2000, lastAt: t0 + 2000 },
    ])
    tracker.close() // logs what is pending
    expect(lines.at(-1)?.msg).toMatch(/^1 more of KSC_ERR_SERVER_BAD_FRAME \(client-a\) since /)
  })

  it('uses the error name for errors without a code, and caps the number of causes', () => {
    const { lines, stream } = sink()
    const log = createLogger({ destination: stream })
    const tracker = new CauseTracker({ maxCauses: 2 })
    logOncePerCause(log, 'k1', new TypeError('x'), { tracker })
    logOncePerCause(log, 'k2', new TypeError('x'), { tracker })
    logOncePerCause(log, 'k3', new TypeError('x'), { tracker })
    logOncePerCause(log, 'k4', new TypeError('x'), { tracker })
    expect(tracker.counts().map((c) => [c.code, c.key, c.count])).toEqual([
      ['TypeError', 'k1', 1],
      ['TypeError', 'k2', 1],
      ['TypeError', 'other', 2],
    ])
    expect(lines).toHaveLength(3)
    tracker.close()
  })
})
