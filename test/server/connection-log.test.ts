import { describe, expect, it } from 'vitest'
import { createLogger } from '../../src/logger.js'
import { ConnectionLog } from '../../src/server/connection-log.js'

function setup(options: { linesPerSecond?: number; burst?: number; summaryIntervalMs?: number } = {}) {
  const lines: Record<string, unknown>[] = []
  const log = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } })
  const clock = { now: 1_000_000 }
  const cl = new ConnectionLog(log, { ...options, now: () => clock.now })
  const msgs = (m: string) => lines.filter((l) => l.msg === m)
  return { lines, log, clock, cl, msgs }
}

describe('ConnectionLog', () => {
  it('logs every connection while they come slower than the rate', () => {
    const { log, clock, cl, msgs } = setup({ linesPerSecond: 5 })
    for (let i = 0; i < 50; i++) {
      const ticket = cl.opened(log, { conn: i })
      cl.closed(log, ticket, { conn: i, reason: 'client closed' })
      clock.now += 250
    }
    expect(msgs('connection opened')).toHaveLength(50)
    expect(msgs('connection closed')).toHaveLength(50)
    expect(cl.counts().suppressed).toEqual({ opened: 0, closed: 0 })
  })

  it('under churn logs at most the rate (after a burst), whole connections only, and counts the rest', () => {
    const { log, clock, cl, msgs } = setup({ linesPerSecond: 10, burst: 10 })
    // 500 connections a second for 10 s, each open for a moment.
    for (let ms = 0; ms < 10_000; ms += 2) {
      const ticket = cl.opened(log, { conn: ms })
      cl.closed(log, ticket, { conn: ms })
      clock.now += 2
    }
    const opened = msgs('connection opened').map((l) => l.conn)
    const closed = msgs('connection closed').map((l) => l.conn)
    // 10 at once, then 10 per second: 10 + 100, give or take the one in progress.
    expect(opened.length).toBeGreaterThanOrEqual(109)
    expect(opened.length).toBeLessThanOrEqual(111)
    expect(closed).toEqual(opened)
    const c = cl.counts()
    expect(c.logged.opened + c.suppressed.opened).toBe(5000)
    expect(c.logged.closed + c.suppressed.closed).toBe(5000)
    expect(c.suppressed.opened).toBe(5000 - opened.length)
  })

  it('a long connection whose open was logged gets its close logged even when the bucket is empty', () => {
    const { log, clock, cl, msgs } = setup({ linesPerSecond: 1, burst: 1 })
    const ticket = cl.opened(log, { conn: 'long' })
    for (let i = 0; i < 20; i++) cl.closed(log, cl.opened(log, { conn: i }), { conn: i })
    cl.closed(log, ticket, { conn: 'long' })
    clock.now += 10
    expect(msgs('connection closed').map((l) => l.conn)).toEqual(['long'])
  })

  it('summarises what it held back at most once per interval, and not when nothing was held back', () => {
    const { lines, log, clock, cl, msgs } = setup({ linesPerSecond: 2, burst: 2, summaryIntervalMs: 10_000 })
    const summaries = () => lines.filter((l) => 'connectionsOpenedUnlogged' in l)
    for (let i = 0; i < 12; i++) cl.closed(log, cl.opened(log, { conn: i }), { conn: i })
    expect(msgs('connection opened')).toHaveLength(2)
    cl.flush()
    expect(summaries()).toHaveLength(0) // the interval has not passed
    clock.now += 10_000
    cl.flush()
    expect(summaries()).toHaveLength(1)
    expect(summaries()[0]).toMatchObject({
      level: 'info',
      connectionsOpenedUnlogged: 10,
      connectionsClosedUnlogged: 10,
    })
    clock.now += 10_000
    cl.flush()
    expect(summaries()).toHaveLength(1)
    cl.closed(log, cl.opened(log, { conn: 'x' }), { conn: 'x' }) // a token has come back: logged, nothing to sum up
    cl.close()
    expect(summaries()).toHaveLength(1)
    expect(msgs('connection opened').map((l) => l.conn)).toEqual([0, 1, 'x'])
  })

  it('with a rate of 0 logs no connection and counts them all', () => {
    const { log, cl, msgs } = setup({ linesPerSecond: 0 })
    for (let i = 0; i < 5; i++) cl.closed(log, cl.opened(log, { conn: i }), { conn: i })
    expect(msgs('connection opened')).toHaveLength(0)
    expect(cl.counts()).toEqual({ logged: { opened: 0, closed: 0 }, suppressed: { opened: 5, closed: 5 } })
    cl.close()
  })
})
