import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeSnappyBlock, maxSnappyBlockSize } from '../../../codec/records/compression/snappy-block.js'
import { crc32c } from '../../../codec/records/crc32c.js'
import {
  CompressionType,
  ControlRecordType,
  decodeControlRecord,
  encodeEndTxnMarkerBatch,
  encodeRecordBatch,
  NO_PRODUCER_ID,
  type Record,
  type RecordBatch,
  readBatches,
  TimestampType,
} from '../../../codec/records/index.js'
import { DEFAULT_KAFKA_VERSION, javaCommand, resolveKafkaClasspath } from '../../harness/kafka-jars.js'
import {
  interopRecords,
  maxTimestampOf,
  type SentRecord,
  toInteropLine,
  toRecordInput,
  viewOf,
  viewOfInteropFields,
} from './interop-records.js'

/**
 * Record batches written by Kafka's own Java client classes (MemoryRecordsBuilder, the code every Java producer
 * runs) must decode to exactly the records that were sent, for every compression type; and batches this codec
 * writes must pass Java's ensureValid() (CRC, layout) and read back the same in Java.
 */

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const
const TYPE = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const
const BASE_OFFSET = 100n
const PRODUCER_ID = 4242n
const PRODUCER_EPOCH = 7
const BASE_SEQUENCE = 11
const PARTITION_LEADER_EPOCH = 3
const MARKER_TIMESTAMP = 1_700_000_000_999n
const JAVA_SOURCE = fileURLToPath(new URL('./java/RecordBatchInterop.java', import.meta.url))

const sent = interopRecords()
let dir: string
let rawInput: Buffer

function single(buf: Buffer): RecordBatch {
  const [batch] = readBatches(buf)
  return batch as RecordBatch
}

function rawSnappy(data: Buffer): Buffer {
  const out = Buffer.alloc(maxSnappyBlockSize(data.length))
  return out.subarray(0, encodeSnappyBlock(data, 0, data.length, out, 0))
}

function ourBatches(codec: (typeof CODECS)[number]): Buffer {
  const compression = TYPE[codec]
  const records = sent.map(toRecordInput)
  return Buffer.concat([
    encodeRecordBatch(records, { compression, baseOffset: BASE_OFFSET }),
    encodeRecordBatch(records, {
      compression,
      baseOffset: BASE_OFFSET + BigInt(sent.length),
      producerId: PRODUCER_ID,
      producerEpoch: PRODUCER_EPOCH,
      baseSequence: BASE_SEQUENCE,
      isTransactional: true,
      partitionLeaderEpoch: PARTITION_LEADER_EPOCH,
    }),
    encodeEndTxnMarkerBatch({
      producerId: PRODUCER_ID,
      producerEpoch: PRODUCER_EPOCH,
      commit: true,
      coordinatorEpoch: 5,
      baseOffset: BASE_OFFSET + BigInt(2 * sent.length),
      partitionLeaderEpoch: PARTITION_LEADER_EPOCH,
      timestamp: MARKER_TIMESTAMP,
    }),
  ])
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ksc-records-java-'))
  await writeFile(join(dir, 'records.txt'), `${sent.map(toInteropLine).join('\n')}\n`)
  for (const codec of CODECS) await writeFile(join(dir, `ours-${codec}.bin`), ourBatches(codec))
  rawInput = single(encodeRecordBatch(sent.map(toRecordInput), { baseOffset: BASE_OFFSET })).recordsSection
  await writeFile(join(dir, 'raw-input.bin'), rawInput)
  await writeFile(join(dir, 'raw-ours.snappy'), rawSnappy(rawInput))
  const classpath = await resolveKafkaClasspath(DEFAULT_KAFKA_VERSION)
  await promisify(execFile)(javaCommand(), ['-cp', classpath, JAVA_SOURCE, dir], {
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024,
  })
}, 180_000)

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

function expectRecords(records: Record[], expected: SentRecord[], baseOffset: bigint): void {
  expect(records.map((r) => r.offset)).toEqual(expected.map((_, i) => baseOffset + BigInt(i)))
  expect(records.map(viewOf)).toEqual(expected.map(viewOf))
}

describe.each(CODECS)('Java client batches compressed with %s', (codec) => {
  let batches: RecordBatch[]

  beforeAll(async () => {
    const data = await readFile(join(dir, `java-${codec}.bin`))
    batches = [...readBatches(data, { partial: 'reject' })] as RecordBatch[]
  })

  it('are four v2 batches with valid CRCs', () => {
    expect(batches.map((b) => b.kind)).toEqual(['batch', 'batch', 'batch', 'batch'])
    for (const b of batches) expect(b.verifyCrc()).toBe(true)
  })

  it('decode to exactly the records that were sent', () => {
    const [plain] = batches as [RecordBatch]
    expect(plain.compression).toBe(TYPE[codec])
    expect(plain.baseOffset).toBe(BASE_OFFSET)
    expect(plain.lastOffset).toBe(BASE_OFFSET + BigInt(sent.length - 1))
    expect(plain.recordCount).toBe(sent.length)
    expect(plain.timestampType).toBe(TimestampType.CreateTime)
    expect(plain.baseTimestamp).toBe(sent[0]!.timestamp)
    expect(plain.maxTimestamp).toBe(maxTimestampOf(sent))
    expect(plain.producerId).toBe(NO_PRODUCER_ID)
    expect(plain.isTransactional).toBe(false)
    expect(plain.isControl).toBe(false)
    expectRecords(plain.toArray({ verifyCrc: true }), sent, BASE_OFFSET)
  })

  it('decode the transactional batch with its producer id, epoch and sequence', () => {
    const txn = batches[1]!
    expect(txn.isTransactional).toBe(true)
    expect(txn.isControl).toBe(false)
    expect(txn.producerId).toBe(PRODUCER_ID)
    expect(txn.producerEpoch).toBe(PRODUCER_EPOCH)
    expect(txn.baseSequence).toBe(BASE_SEQUENCE)
    expect(txn.partitionLeaderEpoch).toBe(PARTITION_LEADER_EPOCH)
    expectRecords(txn.toArray(), sent, BASE_OFFSET + BigInt(sent.length))
  })

  it('decode the COMMIT and ABORT markers', () => {
    const markers = batches.slice(2).map((b) => {
      expect(b.isControl).toBe(true)
      expect(b.isTransactional).toBe(true)
      expect(b.compression).toBe(CompressionType.None)
      const [record] = b.toArray()
      return { offset: record!.offset, timestamp: record!.timestamp, ...decodeControlRecord(record!) }
    })
    const next = BASE_OFFSET + BigInt(2 * sent.length)
    expect(markers).toEqual([
      { offset: next, timestamp: MARKER_TIMESTAMP, keyVersion: 0, type: ControlRecordType.Commit, coordinatorEpoch: 5 },
      {
        offset: next + 1n,
        timestamp: MARKER_TIMESTAMP,
        keyVersion: 0,
        type: ControlRecordType.Abort,
        coordinatorEpoch: 6,
      },
    ])
  })

  // Only uncompressed batches can be compared byte for byte (compressors differ); registered for 'none' alone.
  if (codec === 'none')
    it('match this codec byte for byte when uncompressed', () => {
      expect(encodeRecordBatch(sent.map(toRecordInput), { baseOffset: BASE_OFFSET }).equals(batches[0]!.raw)).toBe(true)
      const commit = encodeEndTxnMarkerBatch({
        producerId: PRODUCER_ID,
        producerEpoch: PRODUCER_EPOCH,
        commit: true,
        coordinatorEpoch: 5,
        baseOffset: BASE_OFFSET + BigInt(2 * sent.length),
        partitionLeaderEpoch: PARTITION_LEADER_EPOCH,
        timestamp: MARKER_TIMESTAMP,
      })
      expect(commit.equals(batches[2]!.raw)).toBe(true)
    })
})

describe.each(CODECS)('batches this codec compresses with %s', (codec) => {
  it('pass Java ensureValid() and read back the same records in Java', async () => {
    const lines = (await readFile(join(dir, `ours-${codec}.txt`), 'utf8')).trimEnd().split('\n')
    const batches = lines.filter((l) => l.startsWith('B\t')).map((l) => l.split('\t').slice(1))
    expect(batches.map(([base, last, name, txn, control]) => [base, last, name, txn, control])).toEqual([
      ['100', String(99 + sent.length), codec, 'false', 'false'],
      [String(100 + sent.length), String(99 + 2 * sent.length), codec, 'true', 'false'],
      [String(100 + 2 * sent.length), String(100 + 2 * sent.length), 'none', 'true', 'true'],
    ])
    const records = lines.filter((l) => l.startsWith('R\t')).map((l) => l.split('\t').slice(1))
    expect(records).toHaveLength(2 * sent.length + 1)
    const data = records.slice(0, 2 * sent.length)
    expect(data.map(([offset]) => offset)).toEqual(data.map((_, i) => String(BASE_OFFSET + BigInt(i))))
    expect(data.map(([, ...fields]) => viewOfInteropFields(fields))).toEqual([...sent, ...sent].map(viewOf))
  })
})

describe('raw snappy blocks (the form librdkafka writes), against Google snappy through snappy-java', () => {
  it('a batch whose records Google snappy compressed raw decodes to the records that were sent', async () => {
    const section = await readFile(join(dir, 'raw-java.snappy'))
    const plain = single(encodeRecordBatch(sent.map(toRecordInput), { baseOffset: BASE_OFFSET }))
    // The same batch with the raw block as its records section: attributes say snappy, CRC recomputed.
    const batch = Buffer.concat([plain.raw.subarray(0, 61), section])
    batch.writeInt32BE(batch.length - 12, 8)
    batch.writeInt16BE(CompressionType.Snappy, 21)
    batch.writeUInt32BE(crc32c(batch, 0, 21), 17)
    expectRecords(single(batch).toArray({ verifyCrc: true }), sent, BASE_OFFSET)
  })

  it('raw blocks this codec writes decompress in Google snappy', async () => {
    expect((await readFile(join(dir, 'raw-ours.out'))).equals(rawInput)).toBe(true)
  })
})
