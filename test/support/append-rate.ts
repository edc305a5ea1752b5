import { expect } from 'vitest'
import { runKcat } from '../harness/index.js'

/**
 * The rate at which records reached the broker, read back directly from it (not through the sidecar) on a topic
 * created with `message.timestamp.type=LogAppendTime` (TOPIC_APPEND_TIME): the broker stamps each batch with the time
 * it appended it (every record of a batch takes the batch's time: DefaultRecordBatch, LogValidator).
 *
 * A limiter's rate is what crosses it once traffic flows, which a client's wall-clock time does not show: it also
 * holds the process start, the TLS handshakes and the metadata round trips, a second or more on two loaded cores.
 * So the bytes counted are those appended after the first append (whatever came first, burst allowance included,
 * went before the clock started), over the time from the first append to the last.
 */
export const TOPIC_APPEND_TIME = { 'message.timestamp.type': 'LogAppendTime' } as const

export interface AppendRate {
  readonly records: number
  /** Bytes per second appended after the first append, counting `bytesPerRecord` per record. */
  readonly bytesPerSecond: number
  readonly seconds: number
}

export async function appendRate(bootstrap: string, topic: string, bytesPerRecord: number): Promise<AppendRate> {
  const r = await runKcat(['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%T\n'], {
    timeoutMs: 90_000,
  })
  expect(r.code, r.stderr).toBe(0)
  const stamps = r.stdout
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .sort((a, b) => a - b)
  expect(stamps.length, `records read back from ${topic}`).toBeGreaterThan(1)
  const first = stamps[0]!
  const last = stamps[stamps.length - 1]!
  expect(last, `append times of ${topic} span no time: is it a LogAppendTime topic?`).toBeGreaterThan(first)
  const afterFirst = stamps.filter((t) => t > first).length
  const seconds = (last - first) / 1000
  return { records: stamps.length, bytesPerSecond: (afterFirst * bytesPerRecord) / seconds, seconds }
}
