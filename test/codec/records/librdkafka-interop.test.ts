import { spawn, spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { isXerialFramed } from '../../../codec/records/compression/snappy.js'
import { CompressionType, type RecordBatch, readBatches } from '../../../codec/records/index.js'
import { viewOf } from './interop-records.js'
import { startProduceCapture } from './librdkafka/produce-capture.js'

/**
 * Record batches librdkafka writes (through kcat, with -z for each codec: snappy raw, LZ4 frames of liblz4, zstd of
 * libzstd, gzip of zlib) decode to the records that were sent. Produce requests are captured on loopback with
 * acks=0 (see produce-capture.ts), so the batches are exactly the bytes the client put on the wire.
 */

const TOPIC = 'records-interop'
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const
const TYPE = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const
const hasKcat = spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0

const lines = Array.from({ length: 500 }, (_, i) => ({
  key: `user-${i % 13}`,
  value: `value ${i} ${'abc'.repeat(i % 40)} ünïcödé 🎉`,
}))

function runKcat(args: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['pipe', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => {
      stderr += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve()
      else reject(new Error(`kcat exited with ${code}: ${stderr}`))
    })
    child.stdin.end(input)
  })
}

describe.skipIf(!hasKcat)('librdkafka (kcat) batches', () => {
  it.each(CODECS)('compressed with %s decode to the records that were sent', async (codec) => {
    const capture = await startProduceCapture(TOPIC)
    const before = BigInt(Date.now())
    try {
      await runKcat(
        [
          '-P',
          '-b',
          `127.0.0.1:${capture.port}`,
          '-t',
          TOPIC,
          '-p',
          '0',
          '-K',
          ':',
          '-H',
          'trace=abc',
          '-z',
          codec,
          '-X',
          'acks=0',
          // One batch for all lines where possible; kcat's final flush sends without waiting for it.
          '-X',
          'linger.ms=1000',
        ],
        `${lines.map((l) => `${l.key}:${l.value}`).join('\n')}\n`,
      )
    } finally {
      await capture.close()
    }
    const after = BigInt(Date.now())
    const batches = capture.records.flatMap((records) => [
      ...readBatches(records, { partial: 'reject' }),
    ]) as RecordBatch[]
    expect(batches.length).toBeGreaterThan(0)
    // librdkafka sends a batch uncompressed when compressing did not make it smaller (a batch of a record or two,
    // when a loaded machine feeds kcat slowly), so only "at least one batch compressed" can be asked for.
    expect(batches.some((b) => b.compression === TYPE[codec])).toBe(true)
    for (const batch of batches) {
      expect(batch.kind).toBe('batch')
      expect([CompressionType.None, TYPE[codec]]).toContain(batch.compression)
      expect(batch.verifyCrc()).toBe(true)
      // librdkafka writes raw snappy, not the xerial framing of the Java client.
      if (codec === 'snappy') expect(isXerialFramed(batch.recordsSection)).toBe(false)
    }
    const records = batches.flatMap((b) => b.toArray({ verifyCrc: true }))
    for (const r of records) {
      expect(r.timestamp >= before && r.timestamp <= after).toBe(true)
    }
    expect(records.map((r) => viewOf({ ...r, timestamp: 0n }))).toEqual(
      lines.map((l) =>
        viewOf({
          timestamp: 0n,
          key: Buffer.from(l.key),
          value: Buffer.from(l.value),
          headers: [{ key: 'trace', value: Buffer.from('abc') }],
        }),
      ),
    )
  })
})
