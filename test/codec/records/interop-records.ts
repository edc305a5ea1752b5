import type { RecordInput } from '../../../codec/records/index.js'

export interface SentRecord {
  timestamp: bigint
  key: Buffer | null
  value: Buffer | null
  headers: { key: string; value: Buffer | null }[]
}

export const BASE_TIMESTAMP = 1_700_000_000_000n

/**
 * The records the interop tests send through other clients: null and empty keys and values, headers with null
 * and empty values, non-ASCII text, a timestamp before the first one (a negative delta), a value larger than a
 * compression block, and enough small records to make several blocks.
 */
export function interopRecords(): SentRecord[] {
  const large = Buffer.from(
    Array.from({ length: 6000 }, (_, i) => `line ${i}: ${'lorem ipsum '.repeat(i % 5)}${(i * 7919) % 10007}\n`).join(
      '',
    ),
  )
  const records: SentRecord[] = [
    { timestamp: BASE_TIMESTAMP, key: Buffer.from('key-0'), value: Buffer.from('value-0'), headers: [] },
    { timestamp: BASE_TIMESTAMP + 1n, key: null, value: Buffer.from('no key'), headers: [] },
    { timestamp: BASE_TIMESTAMP + 2n, key: Buffer.from('tombstone'), value: null, headers: [] },
    {
      timestamp: BASE_TIMESTAMP - 5n,
      key: Buffer.from('ключ'),
      value: Buffer.from('значение 🎉 日本語'),
      headers: [
        { key: 'trace-id', value: Buffer.from('abc123') },
        { key: 'ünïcödé-😀', value: null },
        { key: '', value: Buffer.alloc(0) },
      ],
    },
    { timestamp: BASE_TIMESTAMP + 1000n, key: Buffer.alloc(0), value: Buffer.alloc(0), headers: [] },
    {
      timestamp: BASE_TIMESTAMP + 3n,
      key: Buffer.from('large'),
      value: large,
      headers: [{ key: 'size', value: Buffer.from(String(large.length)) }],
    },
  ]
  for (let i = 0; i < 300; i++) {
    records.push({
      timestamp: BASE_TIMESTAMP + BigInt(10 + i),
      key: Buffer.from(`user-${i % 17}`),
      value: Buffer.from(JSON.stringify({ id: i, name: `name-${i}`, score: (i * 31) % 101 })),
      headers: Array.from({ length: i % 3 }, (_, h) => ({ key: `h${h}`, value: Buffer.from(`v${i}-${h}`) })),
    })
  }
  return records
}

export function toRecordInput(r: SentRecord): RecordInput {
  return { timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers }
}

function field(b: Buffer | null): string {
  return b === null ? '-' : b.toString('base64')
}

/** The line format RecordBatchInterop.java reads and writes: timestamp, key, value, headers (key:value,...). */
export function toInteropLine(r: SentRecord): string {
  const headers = r.headers.map((h) => `${Buffer.from(h.key).toString('base64')}:${field(h.value)}`).join(',')
  return [r.timestamp, field(r.key), field(r.value), headers].join('\t')
}

/**
 * A record as comparable strings (base64 bytes, null kept): deep equality over these is fast, where
 * comparing Buffers element by element is not.
 */
export interface RecordView {
  timestamp: string
  key: string | null
  value: string | null
  headers: [string, string | null][]
}

function b64(b: Uint8Array | null): string | null {
  return b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')
}

export function viewOf(r: {
  timestamp: bigint
  key: Uint8Array | null
  value: Uint8Array | null
  headers: readonly { key: string; value: Uint8Array | null }[]
}): RecordView {
  return {
    timestamp: String(r.timestamp),
    key: b64(r.key),
    value: b64(r.value),
    headers: r.headers.map((h) => [h.key, b64(h.value)]),
  }
}

/** A record line that RecordBatchInterop.java wrote (timestamp, key, value, headers) as a RecordView. */
export function viewOfInteropFields(f: string[]): RecordView {
  const bytes = (s: string) => (s === '-' ? null : s)
  return {
    timestamp: f[0]!,
    key: bytes(f[1]!),
    value: bytes(f[2]!),
    headers:
      f[3] === ''
        ? []
        : f[3]!.split(',').map((pair) => {
            const [k, v] = pair.split(':') as [string, string]
            return [Buffer.from(k, 'base64').toString('utf8'), bytes(v)]
          }),
  }
}

/** The largest timestamp of some records, -1 (NO_TIMESTAMP) for none: what a batch's maxTimestamp must be. */
export function maxTimestampOf(records: readonly { timestamp?: bigint }[]): bigint {
  let max = -1n
  for (const r of records) if (r.timestamp !== undefined && r.timestamp > max) max = r.timestamp
  return max
}
