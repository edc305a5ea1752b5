import { describe, expect, it } from 'vitest'
import { encodeRecordBatch, RecordBatch } from '../../../codec/records/index.js'
import type { Capture } from '../../../filters/tap/capture.js'
import { ScratchPool } from '../../../filters/tap/scratch-pool.js'
import { copyHeaders, TapBatchBuilder } from '../../../filters/tap/tap-batch.js'

/** A builder holding `n` copies of one record (what the engine sends). */
function filled(builder: TapBatchBuilder, n: number, value: string): void {
  const source = new RecordBatch(encodeRecordBatch([{ key: null, value: Buffer.from(value), headers: [] }]))
  const headers = copyHeaders([{ key: 'h', value: Buffer.from('v') }])
  for (let i = 0; i < n; i++) {
    const spans = source.recordSpans()
    spans.next()
    builder.append(spans, 1_700_000_000_000 + i, headers, 100 + i, {} as Capture)
  }
}

describe('tap batch scratches', () => {
  it('a batch handed over stays intact while its builder goes on with another scratch', () => {
    const pool = new ScratchPool(4096, 2)
    const builder = new TapBatchBuilder(undefined, 4096)
    filled(builder, 3, 'first')
    const batch = builder.finish()
    const copy = Buffer.from(batch)
    const given = builder.handOver(pool.take())
    expect(batch.buffer).toBe(given.buffer)
    builder.reset(undefined, 4096)
    filled(builder, 5, 'second-batch')
    const next = builder.finish()
    expect(batch).toEqual(copy)
    expect(next.buffer).not.toBe(batch.buffer)
    const records = [...new RecordBatch(batch).records()].map((r) => r.value?.toString())
    expect(records).toEqual(['first', 'first', 'first'])
    expect(new RecordBatch(batch).verifyCrc()).toBe(true)
    expect(new RecordBatch(next).recordCount).toBe(5)
  })

  it('keeps buffers of its size only, and no more than it is told', () => {
    const pool = new ScratchPool(1024, 1)
    const a = pool.take()
    const b = pool.take()
    expect(a.length).toBe(1024)
    expect(a.buffer).not.toBe(b.buffer)
    pool.give(Buffer.alloc(2048)) // grown for a large record: dropped
    pool.give(a)
    pool.give(b) // beyond keepFree: dropped
    expect(pool.take()).toBe(a)
    expect(pool.take()).not.toBe(b)
  })
})
