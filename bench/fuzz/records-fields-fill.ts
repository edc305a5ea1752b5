import { STRUCT_SCHEMAS } from '../../codec/messages/generated/schema.js'
import { inRange, type TypeSchema } from '../../codec/messages/schema-types.js'
import {
  type CompressionType,
  encodeEndTxnMarkerBatch,
  encodeRecordBatch,
  prepareZstdCompression,
} from '../../codec/records/index.js'

/**
 * Real record batches for the `records` fields of generated messages (Produce requests, Fetch, ShareFetch and
 * FetchSnapshot responses): random bytes there stop every records reader at the first length, so the batch
 * summaries observers read (and the streaming decoder behind them) would never be reached. A small pool, built
 * once: batches of each compression, a transaction marker, several batches in a row, a trailing partial batch.
 */
let pool: Buffer[] = []

export async function prepareRecordsPool(): Promise<void> {
  if (pool.length > 0) return
  await prepareZstdCompression()
  const records = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.alloc(20 + i, i), timestamp: 1n }))
  const batches = ([0, 1, 2, 3, 4] as CompressionType[]).map((compression, i) =>
    encodeRecordBatch(records(1 + i), { compression, baseOffset: BigInt(100 * i) }),
  )
  const marker = encodeEndTxnMarkerBatch({ producerId: 7n, producerEpoch: 1, commit: true, coordinatorEpoch: 2 })
  pool = [
    ...batches,
    marker,
    Buffer.concat([batches[0]!, batches[3]!, marker]),
    Buffer.concat([batches[1]!, batches[2]!.subarray(0, 30)]),
    Buffer.alloc(0),
  ]
}

/** `message` (struct `name` at `version`) with each records field set to a batch from the pool, picked by `pick`. */
export function fillRecordsFields(message: Record<string, unknown>, name: string, version: number, pick: number) {
  if (pool.length === 0) throw new Error('prepareRecordsPool() first')
  let n = pick
  const fill = (value: unknown, type: TypeSchema): unknown => {
    if (value === null || value === undefined) return value
    if (type === 'records') return pool[n++ % pool.length]
    if (typeof type === 'string') return value
    if ('struct' in type) return fillStruct(value as Record<string, unknown>, type.struct)
    return (value as unknown[]).map((v) => fill(v, type.array))
  }
  const fillStruct = (m: Record<string, unknown>, struct: string): Record<string, unknown> => {
    const schema = STRUCT_SCHEMAS[struct]!
    const out = { ...m }
    for (const f of schema.fields)
      if ((inRange(f.versions, version) || inRange(f.tagged, version)) && f.prop in out)
        out[f.prop] = fill(out[f.prop], f.type)
    return out
  }
  return fillStruct(message, name)
}
