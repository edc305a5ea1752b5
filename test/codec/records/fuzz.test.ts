import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CodecError } from '../../../codec/errors.js'
import {
  type CompressionType,
  decodeControlRecord,
  encodeEndTxnMarkerBatch,
  encodeRecordBatch,
  readBatches,
  recompressBatch,
} from '../../../codec/records/index.js'
import { recordsArbitrary } from './arbitraries.js'

/**
 * Malformed records from a fuzzer must give CodecErrors only: valid buffers of batches (every compression type,
 * control batches) are mutated (bytes overwritten, header fields set to extreme values, bytes inserted or
 * removed, truncated) and then decoded as deeply as the API allows. Any other exception (RangeError, TypeError,
 * an allocation failure) fails the test.
 */

const MAX_DECOMPRESSED = 4 * 1024 * 1024

const validRecords = fc
  .array(
    fc.oneof(
      fc
        .tuple(recordsArbitrary, fc.constantFrom<CompressionType>(0, 1, 2, 3, 4), fc.bigInt({ min: 0n, max: 1000n }))
        .map(([records, compression, baseOffset]) => encodeRecordBatch(records, { compression, baseOffset })),
      fc
        .boolean()
        .map((commit) =>
          encodeEndTxnMarkerBatch({ producerId: 1n, producerEpoch: 0, commit, coordinatorEpoch: 3, timestamp: 9n }),
        ),
    ),
    { minLength: 1, maxLength: 3 },
  )
  .map((batches) => Buffer.concat(batches))

// Offsets of header fields whose extreme values reach the most checks: lengths, magic, attributes, counts.
const HEADER_FIELDS = [8, 16, 21, 22, 23, 57] as const
const EXTREMES = [0, 1, -1, 0x7f, 0x80, 0xff, 0x7fffffff, -0x80000000, 49, 61, 1 << 20]

const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('overwrite' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('field' as const),
    field: fc.constantFrom(...HEADER_FIELDS),
    value: fc.constantFrom(...EXTREMES),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
)
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never

function mutate(buf: Buffer, m: Mutation): Buffer {
  const at = 'at' in m ? m.at % (buf.length + 1) : 0
  switch (m.kind) {
    case 'overwrite': {
      const out = Buffer.from(buf)
      out.set(m.bytes.subarray(0, Math.max(0, out.length - at)), Math.min(at, out.length))
      return out
    }
    case 'field': {
      const out = Buffer.from(buf)
      const width = m.field === 16 || m.field === 22 ? 1 : m.field === 21 ? 2 : 4
      if (out.length >= m.field + width)
        out.writeIntBE(Math.max(-(2 ** (8 * width - 1)), Math.min(2 ** (8 * width - 1) - 1, m.value)), m.field, width)
      return out
    }
    case 'insert':
      return Buffer.concat([buf.subarray(0, at), m.bytes, buf.subarray(at)])
    case 'delete':
      return Buffer.concat([buf.subarray(0, at), buf.subarray(at + m.count)])
    case 'truncate':
      return buf.subarray(0, at)
  }
}

/** Everything a caller can do with a records buffer; returns normally or throws what the codec threw. */
function decodeDeeply(buf: Buffer): void {
  for (const entry of readBatches(buf)) {
    if (entry.kind !== 'batch') continue
    const header = [
      entry.baseOffset,
      entry.lastOffset,
      entry.partitionLeaderEpoch,
      entry.crc,
      entry.attributes,
      entry.compression,
      entry.timestampType,
      entry.isTransactional,
      entry.isControl,
      entry.maxTimestamp,
      entry.producerId,
      entry.producerEpoch,
      entry.baseSequence,
      entry.recordCount,
      entry.verifyCrc(),
    ]
    expect(header).toHaveLength(15)
    for (const record of entry.records({ maxDecompressedSize: MAX_DECOMPRESSED })) {
      void [record.offset, record.timestamp, record.key?.length, record.value?.length, record.headers.length]
      if (entry.isControl) decodeControlRecord(record)
    }
    recompressBatch(entry, ((entry.compression + 1) % 5) as CompressionType, { maxDecompressedSize: MAX_DECOMPRESSED })
  }
}

function expectOnlyCodecErrors(buf: Buffer): void {
  try {
    decodeDeeply(buf)
  } catch (err) {
    if (!(err instanceof CodecError)) throw err
  }
}

describe('fuzzing record batches', () => {
  it('valid batches decode without error', () => {
    fc.assert(
      fc.property(validRecords, (buf) => decodeDeeply(buf)),
      { numRuns: 50 },
    )
  })

  it('mutated batches give CodecErrors only', () => {
    fc.assert(
      fc.property(validRecords, fc.array(mutation, { minLength: 1, maxLength: 4 }), (buf, mutations) => {
        expectOnlyCodecErrors(mutations.reduce(mutate, buf))
      }),
      { numRuns: 1500 },
    )
  })

  it('mutations inside the records section (past the header) give CodecErrors only', () => {
    fc.assert(
      fc.property(validRecords, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 4 }), (buf, at, bytes) => {
        const out = Buffer.from(buf)
        // Keep the first batch's length and magic intact so decoding reaches its records.
        const pos = 61 + (at % Math.max(1, out.length - 61))
        out.set(bytes.subarray(0, Math.max(0, out.length - pos)), Math.min(pos, out.length))
        expectOnlyCodecErrors(out)
      }),
      { numRuns: 1500 },
    )
  })

  it('random bytes give CodecErrors only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => expectOnlyCodecErrors(Buffer.from(bytes))),
      { numRuns: 1000 },
    )
  })
})
