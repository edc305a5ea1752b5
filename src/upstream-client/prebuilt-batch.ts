import { RecordBatch } from '../../codec/records/record-batch.js'

/**
 * What Producer.produceBatch takes from its caller: one record batch v2, uncompressed (the producer compresses it
 * when the call asks for compression), not transactional nor control, whose records are numbered 0..count-1 (the
 * broker refuses a batch whose last offset delta is not count - 1). Checked from the header alone, so that a
 * caller's mistake fails its call at once instead of a Produce request that the broker refuses as a whole; the
 * records themselves and the CRC are the broker's to check. Returns the record count.
 */
export function checkedPrebuiltBatch(batch: Buffer): number {
  const b = new RecordBatch(batch)
  if (b.compression !== 0) throw new Error(`the batch is compressed (type ${b.compression}); hand it over uncompressed`)
  if (b.isControl || b.isTransactional) throw new Error('the batch is a control or transactional batch')
  const count = b.recordCount
  if (count <= 0) throw new Error(`the batch declares ${count} records`)
  if (b.lastOffsetDelta !== count - 1)
    throw new Error(`the batch's last offset delta is ${b.lastOffsetDelta}, not ${count - 1} for ${count} records`)
  return count
}
