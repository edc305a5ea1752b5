import fc from 'fast-check'
import { CodecError } from '../../../codec/errors.js'
import { Reader } from '../../../codec/primitives/reader.js'
import {
  ATTRIBUTES,
  BATCH_LENGTH,
  CRC,
  LOG_OVERHEAD,
  RECORDS,
  TimestampType,
} from '../../../codec/records/batch-layout.js'
import {
  type CompressionType,
  compressionCodec,
  crc32c,
  type EncodeBatchOptions,
  encodeEndTxnMarkerBatch,
  encodeRecordBatch,
  prepareZstdCompression,
  RecordBatch,
  type RecordInput,
} from '../../../codec/records/index.js'
import { applyByteMutation, type ByteMutation, byteMutation } from '../byte-mutations.js'

/**
 * The inputs of the record-batches target: batches to build (records, compression, header fields, transaction
 * markers), the mutations to apply to them (header fields, record fields inside the decompressed section, the
 * compressed payload, blind bytes) and the decompression bombs, with what builds and mutates them.
 */

/** The decompression cap given to every decode here: small, so the bombs are cheap and the bound shows. */
export const FUZZ_MAX_DECOMPRESSED = 64 * 1024
const COMPRESSIONS = [0, 1, 2, 3, 4] as const

export interface BatchSpec {
  records: (RecordInput & { timestamp: bigint })[]
  compression: CompressionType
  options: Pick<
    EncodeBatchOptions,
    'baseOffset' | 'partitionLeaderEpoch' | 'producerId' | 'producerEpoch' | 'baseSequence' | 'isTransactional'
  >
  logAppendTime: boolean
  /** A transaction marker batch instead of records. */
  marker: boolean | undefined
}

export type RecordsMutation =
  | { kind: 'header'; batch: number; field: number; value: number }
  | { kind: 'record-field'; batch: number; varint: number; value: number }
  | { kind: 'plain'; batch: number; mutation: ByteMutation }
  | { kind: 'payload'; batch: number; mutation: ByteMutation; fixCrc: boolean }
  | { kind: 'bytes'; mutation: ByteMutation }

export interface RecordsInput {
  batches: BatchSpec[]
  mutations: RecordsMutation[]
  recompressTo: CompressionType
  /** Decompression bombs: replace batch 0's records with this many times the cap of zeros, compressed so. */
  bomb: { compression: 1 | 2 | 3 | 4; factor: 'under' | 'over' } | undefined
}

const payload = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  // Repetitive values make the compressors emit matches, so corruption reaches back-reference decoding.
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.uint8Array({ minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 200 }))
      .map(([unit, n]) => new Uint8Array(Buffer.concat(Array.from({ length: n }, () => Buffer.from(unit))))),
  },
)
const nullablePayload = fc.option(payload, { nil: null, freq: 5 })

const recordArbitrary = fc.record({
  key: nullablePayload,
  value: nullablePayload,
  headers: fc.array(fc.record({ key: fc.string({ maxLength: 8 }), value: nullablePayload }), { maxLength: 3 }),
  timestamp: fc.oneof(
    fc.bigInt({ min: 1_700_000_000_000n, max: 1_700_000_100_000n }),
    fc.bigInt({ min: -(2n ** 47n), max: 2n ** 47n }),
  ),
})

const batchSpec: fc.Arbitrary<BatchSpec> = fc.record({
  records: fc.array(recordArbitrary, { maxLength: 6 }),
  compression: fc.constantFrom(...COMPRESSIONS),
  options: fc.record({
    baseOffset: fc.bigInt({ min: 0n, max: 2n ** 62n }),
    partitionLeaderEpoch: fc.integer({ min: -1, max: 1000 }),
    producerId: fc.bigInt({ min: -1n, max: 2n ** 40n }),
    producerEpoch: fc.integer({ min: -1, max: 32767 }),
    baseSequence: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
    isTransactional: fc.boolean(),
  }),
  logAppendTime: fc.boolean(),
  marker: fc.option(fc.boolean(), { nil: undefined, freq: 8 }),
})

// Header fields by offset and width (batch-layout.ts): length, epoch, magic, crc, attributes, lastOffsetDelta,
// timestamps, producer fields, record count.
const HEADER_FIELDS: readonly [number, number][] = [
  [0, 8],
  [BATCH_LENGTH, 4],
  [12, 4],
  [16, 1],
  [CRC, 4],
  [ATTRIBUTES, 2],
  [23, 4],
  [27, 8],
  [35, 8],
  [43, 8],
  [51, 2],
  [53, 4],
  [57, 4],
]
const EXTREMES = [0, 1, -1, 2, 3, 4, 5, 7, 0x7f, 0x80, 0xff, 0x7fff, 0x7fffffff, -0x80000000, 49, 61, 1 << 20]
// Zigzag varint values that break record decoding: null (-1) where not allowed, other negatives, past the end.
const HOSTILE_VARINTS = [-1, -2, 0, 1, 5, 6, 7, 2 ** 31 - 1, -(2 ** 31), 1 << 20, 1000]

const mutation: fc.Arbitrary<RecordsMutation> = fc.oneof(
  fc.record({
    kind: fc.constant('header' as const),
    batch: fc.nat(),
    field: fc.nat(HEADER_FIELDS.length - 1),
    value: fc.constantFrom(...EXTREMES),
  }),
  fc.record({ kind: fc.constant('record-field' as const), batch: fc.nat(), varint: fc.nat(), value: fc.nat() }),
  fc.record({ kind: fc.constant('plain' as const), batch: fc.nat(), mutation: byteMutation }),
  fc.record({ kind: fc.constant('payload' as const), batch: fc.nat(), mutation: byteMutation, fixCrc: fc.boolean() }),
  fc.record({ kind: fc.constant('bytes' as const), mutation: byteMutation }),
)

export const recordsInputArbitrary: fc.Arbitrary<RecordsInput> = fc.record({
  batches: fc.array(batchSpec, { minLength: 1, maxLength: 3 }),
  mutations: fc.oneof(
    { weight: 1, arbitrary: fc.constant<RecordsMutation[]>([]) },
    { weight: 4, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }) },
  ),
  recompressTo: fc.constantFrom(...COMPRESSIONS),
  bomb: fc.option(
    fc.record({
      compression: fc.constantFrom(1 as const, 2 as const, 3 as const, 4 as const),
      factor: fc.constantFrom('under' as const, 'over' as const),
    }),
    { nil: undefined, freq: 40 },
  ),
})

export function encodeSpec(spec: BatchSpec): Buffer {
  if (spec.marker !== undefined)
    return encodeEndTxnMarkerBatch({
      producerId: spec.options.producerId ?? 1n,
      producerEpoch: spec.options.producerEpoch ?? 0,
      commit: spec.marker,
      coordinatorEpoch: spec.options.partitionLeaderEpoch ?? 0,
      timestamp: spec.records[0]?.timestamp ?? 0n,
    })
  return encodeRecordBatch(spec.records, {
    ...spec.options,
    compression: spec.compression,
    ...(spec.logAppendTime ? { timestampType: TimestampType.LogAppendTime } : {}),
  })
}

/** The batch with its records section replaced, length and CRC set to match. */
export function withSection(batch: Buffer, section: Uint8Array, compression?: number): Buffer {
  const out = Buffer.concat([batch.subarray(0, RECORDS), section])
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH)
  if (compression !== undefined) out.writeInt16BE((out.readInt16BE(ATTRIBUTES) & ~7) | compression, ATTRIBUTES)
  return fixCrc(out)
}

export function fixCrc(batch: Buffer): Buffer {
  if (batch.length >= RECORDS) batch.writeUInt32BE(crc32c(batch, 0, ATTRIBUTES, batch.length), CRC)
  return batch
}

/** Positions of the varints in a decompressed records section (record lengths, key/value/header lengths, counts). */
function recordVarints(plain: Buffer): number[] {
  const at: number[] = []
  const r = new Reader(plain)
  const varint = () => {
    at.push(r.pos)
    return r.varint()
  }
  try {
    // The first records are enough to aim at: a bomb's section of zeros would give a varint per byte.
    while (r.remaining > 0 && at.length < 256) {
      varint()
      r.int8()
      r.varlong()
      varint()
      for (let i = 0; i < 2; i++) {
        const n = varint()
        if (n > 0) r.skip(n)
      }
      const headers = varint()
      for (let h = 0; h < headers; h++) {
        // Reader.skip trusts its caller: a negative length would move back (and walk forever).
        const keyLength = varint()
        if (keyLength < 0) return at
        r.skip(keyLength)
        const n = varint()
        if (n > 0) r.skip(n)
      }
    }
  } catch (err) {
    if (!(err instanceof CodecError)) throw err
  }
  return at
}

function zigzagVarint(v: number): Buffer {
  let u = v >= 0 ? v * 2 : -v * 2 - 1
  const out: number[] = []
  while (u >= 0x80) {
    out.push((u % 0x80) | 0x80)
    u = Math.floor(u / 0x80)
  }
  out.push(u)
  return Buffer.from(out)
}

export function mutateBatch(batch: Buffer, m: RecordsMutation): Buffer {
  switch (m.kind) {
    case 'header': {
      const [offset, width] = HEADER_FIELDS[m.field]!
      const out = Buffer.from(batch)
      if (out.length < offset + width) return out
      if (width === 8) out.writeBigInt64BE(BigInt(m.value), offset)
      else out.writeIntBE(Math.max(-(2 ** (8 * width - 1)), Math.min(2 ** (8 * width - 1) - 1, m.value)), offset, width)
      return out
    }
    case 'record-field':
    case 'plain': {
      const entry = new RecordBatch(batch)
      const plain = Buffer.from(entry.decompressRecords(FUZZ_MAX_DECOMPRESSED))
      let changed: Buffer
      if (m.kind === 'plain') changed = applyByteMutation(plain, m.mutation)
      else {
        const varints = recordVarints(plain)
        if (varints.length === 0) return batch
        const at = varints[m.varint % varints.length]!
        const end = new Reader(plain, at)
        end.uvarint()
        const value = HOSTILE_VARINTS[m.value % HOSTILE_VARINTS.length]!
        changed = Buffer.concat([plain.subarray(0, at), zigzagVarint(value), plain.subarray(end.pos)])
      }
      return withSection(batch, compressionCodec(entry.compression).compress(changed))
    }
    case 'payload': {
      if (batch.length < RECORDS) return applyByteMutation(batch, m.mutation)
      const section = applyByteMutation(batch.subarray(RECORDS), m.mutation)
      const out = Buffer.concat([batch.subarray(0, RECORDS), section])
      out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH)
      return m.fixCrc ? fixCrc(out) : out
    }
    case 'bytes':
      return applyByteMutation(batch, m.mutation)
  }
}

const bombs = new Map<string, Buffer>()
/** A compressed records section of zeros just under or well over the cap (built by prepare()). */
export function bombSection(compression: 1 | 2 | 3 | 4, factor: 'under' | 'over'): Buffer {
  const section = bombs.get(`${compression}-${factor}`)
  if (section === undefined) throw new Error('record-batches: prepare() builds the bombs before the first case')
  return section
}

export async function prepareBombs(): Promise<void> {
  await prepareZstdCompression()
  for (const compression of [1, 2, 3, 4] as const)
    for (const factor of ['under', 'over'] as const) {
      const size = factor === 'under' ? FUZZ_MAX_DECOMPRESSED - 100 : 8 * FUZZ_MAX_DECOMPRESSED
      bombs.set(`${compression}-${factor}`, compressionCodec(compression).compress(Buffer.alloc(size)))
    }
}
