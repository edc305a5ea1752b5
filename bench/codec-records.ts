/**
 * Record batch codec throughput: encode and decode of batches of about 1 KiB, 16 KiB and 1 MiB of records for
 * each compression type, and CRC-32C. Prints a table, then the native codecs against their pure-JS fallbacks
 * (CRC-32C, Snappy) and the zstd compressor against stored frames.
 *
 *   npm run build && node dist/bench/codec-records.js [--time-ms=1000]   (per measurement, best of 5 rounds)
 *
 * MB/s counts the uncompressed records section (what a producer hands over), 1 MB = 10^6 bytes.
 * Decode = readBatches + iterate every record and touch its key, value and headers (offsets and timestamps stay
 * lazy, as a filter that only looks at values would leave them).
 */
import { spawnSync } from 'node:child_process'
import { crc32 as zlibCrc32 } from 'node:zlib'
import { createSnappyCodec, NATIVE_MIN_DECODE_BYTES } from '../codec/records/compression/snappy.js'
import { encodeStoredZstdFrame } from '../codec/records/compression/zstd-frame.js'
import { crc32cJs, NATIVE_MIN_BYTES, type NativeCrc32 } from '../codec/records/crc32c.js'
import {
  CompressionType,
  compressionCodec,
  crc32c,
  crc32cImplementation,
  encodeRecordBatch,
  prepareZstdCompression,
  type RecordBatch,
  type RecordInput,
  readBatches,
  snappyImplementation,
  zstdCompressorName,
} from '../codec/records/index.js'
import { loadNative } from '../codec/records/native-module.js'
import { ROUNDS, timeMsArg } from './lib/micro.js'

const TIME_MS = timeMsArg()
await prepareZstdCompression()

/**
 * bestRate (lib/micro.ts: a quarter of the time warming up, then the best of ROUNDS rounds), except that it lets
 * the event loop turn every few milliseconds and counts only the time spent calling `fn`. The native codecs
 * return buffers that Node frees from the event loop (N-API finalizers run there, not inside the garbage
 * collection): a synchronous second of native snappy calls held gigabytes, and one run aborted on a failed
 * allocation. A sidecar's event loop turns with every socket read, so this is the condition it runs under.
 */
async function rate(fn: () => void): Promise<number> {
  const slice = async (ms: number): Promise<[number, number]> => {
    let calls = 0
    let spent = 0
    while (spent < ms) {
      const start = performance.now()
      const until = start + Math.min(5, ms - spent)
      let now = start
      while (now < until) {
        for (let i = 0; i < 16; i++) fn()
        calls += 16
        now = performance.now()
      }
      spent += now - start
      await new Promise((resolve) => setImmediate(resolve))
    }
    return [calls, spent]
  }
  await slice(TIME_MS / 4)
  let best = 0
  for (let round = 0; round < ROUNDS; round++) {
    const [calls, spent] = await slice(TIME_MS / ROUNDS)
    best = Math.max(best, (calls * 1000) / spent)
  }
  return best
}

/** Records shaped like application events: a short key, a JSON value of ~150 bytes, a header on every third. */
function makeRecords(targetBytes: number): RecordInput[] {
  const records: RecordInput[] = []
  let bytes = 0
  for (let i = 0; bytes < targetBytes; i++) {
    const value = Buffer.from(
      JSON.stringify({
        id: i,
        user: `user-${i % 1000}`,
        action: ['view', 'click', 'buy'][i % 3],
        amount: (i * 37) % 1000,
        at: 1_700_000_000_000 + i,
      }),
    )
    const key = Buffer.from(`user-${i % 1000}`)
    const headers = i % 3 === 0 ? [{ key: 'trace-id', value: Buffer.from(`${i.toString(16).padStart(16, '0')}`) }] : []
    records.push({ key, value, headers, timestamp: 1_700_000_000_000n + BigInt(i) })
    bytes += key.length + value.length + 10 + (headers.length ? 30 : 0)
  }
  return records
}

/**
 * Without a zstd compressor (neither node:zlib's nor WebAssembly) the codec writes stored frames, which would make
 * the zstd decode figures meaningless; then the batch to decode is built from a real frame of the zstd CLI.
 */
function realZstdBatch(plain: Buffer): Buffer | undefined {
  const cli = spawnSync('zstd', ['-c', '-q', '-3'], { input: plain.subarray(61), maxBuffer: 1 << 28 })
  if (cli.status !== 0) return undefined
  const batch = Buffer.concat([plain.subarray(0, 61), cli.stdout])
  batch.writeInt32BE(batch.length - 12, 8)
  batch.writeInt16BE(CompressionType.Zstd, 21)
  batch.writeUInt32BE(crc32c(batch, 0, 21), 17)
  return batch
}

function decodeAll(batch: Buffer): number {
  let touched = 0
  for (const entry of readBatches(batch)) {
    for (const record of (entry as RecordBatch).records()) {
      touched += (record.key?.length ?? 0) + (record.value?.length ?? 0) + record.headers.length
    }
  }
  return touched
}

const SIZES: [string, number][] = [
  ['1 KiB', 1024],
  ['16 KiB', 16 * 1024],
  ['1 MiB', 1024 * 1024],
]
const CODECS: [string, CompressionType][] = [
  ['none', CompressionType.None],
  ['gzip', CompressionType.Gzip],
  ['snappy', CompressionType.Snappy],
  ['lz4', CompressionType.Lz4],
  ['zstd', CompressionType.Zstd],
]

const rows: string[][] = []
for (const [sizeName, target] of SIZES) {
  const records = makeRecords(target)
  const plainSize = encodeRecordBatch(records).length - 61
  for (const [codecName, compression] of CODECS) {
    const native = compression !== CompressionType.Zstd || zstdCompressorName() !== 'stored'
    const batch =
      (native ? undefined : realZstdBatch(encodeRecordBatch(records))) ?? encodeRecordBatch(records, { compression })
    const encodes = await rate(() => encodeRecordBatch(records, { compression }))
    const decodes = await rate(() => decodeAll(batch))
    rows.push([
      sizeName,
      native ? codecName : `${codecName}*`,
      String(records.length),
      (plainSize / (batch.length - 61)).toFixed(2),
      ((encodes * plainSize) / 1e6).toFixed(1),
      Math.round(encodes * records.length).toLocaleString('en-US'),
      ((decodes * plainSize) / 1e6).toFixed(1),
      Math.round(decodes * records.length).toLocaleString('en-US'),
    ])
  }
}

const header = ['batch', 'codec', 'records', 'ratio', 'encode MB/s', 'encode rec/s', 'decode MB/s', 'decode rec/s']
console.log(
  `Node ${process.version}; CRC-32C: ${crc32cImplementation()}; snappy: ${snappyImplementation()}; ` +
    `zstd compression: ${zstdCompressorName()}`,
)
if (zstdCompressorName() === 'stored')
  console.log(
    '* zstd on this runtime: encode writes stored (uncompressed) frames; decode reads frames of the zstd CLI if present',
  )
printTable(header, rows)

// -- the selected implementations against their fallbacks, on the 1 MiB records section
const plain = encodeRecordBatch(makeRecords(1024 * 1024)).subarray(61)
const mbps = async (fn: () => void, bytes: number) => (((await rate(fn)) * bytes) / 1e6).toFixed(0)
const versus: string[][] = []
// The native call alone too: below NATIVE_MIN_BYTES the selected function stays in JS, and this shows why.
const nativeCrc = loadNative<NativeCrc32>('@node-rs/crc32', ['crc32c'])
for (const size of [64, 128, 256, 512, 1024, 16 * 1024, 1024 * 1024]) {
  const input = plain.subarray(0, size)
  versus.push([
    `CRC-32C ${formatSize(size)}`,
    await mbps(() => crc32c(input), size),
    await mbps(() => crc32cJs(input), size),
    nativeCrc === undefined ? '-' : await mbps(() => nativeCrc.crc32c(input), size),
    size < NATIVE_MIN_BYTES ? `js (under ${NATIVE_MIN_BYTES} B)` : crc32cImplementation(),
  ])
}
const jsSnappy = createSnappyCodec(undefined)
const snappy = compressionCodec(CompressionType.Snappy)
for (const size of [1024, 16 * 1024, 1024 * 1024]) {
  const input = plain.subarray(0, size)
  const frame = snappy.compress(input)
  versus.push(
    [
      `snappy compress ${formatSize(size)}`,
      await mbps(() => snappy.compress(input), size),
      await mbps(() => jsSnappy.compress(input), size),
      '',
      snappyImplementation(),
    ],
    [
      `snappy decompress ${formatSize(size)}`,
      await mbps(() => snappy.decompress(frame), size),
      await mbps(() => jsSnappy.decompress(frame, 1 << 26), size),
      '',
      size < NATIVE_MIN_DECODE_BYTES ? `js (under ${NATIVE_MIN_DECODE_BYTES} B)` : snappyImplementation(),
    ],
  )
}
const zstd = compressionCodec(CompressionType.Zstd)
versus.push([
  `zstd compress 1 MiB (ratio ${(plain.length / zstd.compress(plain).length).toFixed(2)})`,
  await mbps(() => zstd.compress(plain), plain.length),
  await mbps(() => encodeStoredZstdFrame(plain), plain.length),
  '',
  `${zstdCompressorName()} vs stored frames`,
])
console.log('')
printTable(['operation', 'selected MB/s', 'fallback MB/s', 'native call MB/s', 'selected'], versus)

if (typeof zlibCrc32 === 'function') {
  const crcInput = plain.subarray(0, 1024 * 1024)
  console.log(
    `\nfor scale, node:zlib crc32 (IEEE polynomial, native), 1 MiB: ${await mbps(() => zlibCrc32(crcInput), crcInput.length)} MB/s`,
  )
}

function formatSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / 1024 / 1024} MiB` : bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`
}

function printTable(head: string[], body: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || (head === header && i < 2) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
  console.log(line(head))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of body) console.log(line(row))
}
