import { BASE_OFFSET, MAGIC } from './batch-layout.js'

/**
 * A message of the legacy message-set formats, magic 0 and 1 (https://kafka.apache.org/documentation/#messageset;
 * clients/src/main/java/org/apache/kafka/common/record/LegacyRecord.java):
 *
 *   offset int64 | messageSize int32 | crc uint32 | magic int8 | attributes int8 | [timestamp int64, magic 1] |
 *   key bytes | value bytes
 *
 * A compressed legacy message wraps a whole inner message set in its value. Brokers still return such data
 * from old log segments; the sidecar passes it on without looking inside, so only the envelope is exposed.
 */
export class LegacyMessageSet {
  readonly kind = 'legacy'
  /** The whole message, from its offset to its last byte. */
  readonly raw: Buffer

  constructor(raw: Buffer) {
    this.raw = raw
  }

  /** The message's offset (for a compressed wrapper, the offset of its last inner message). */
  get offset(): bigint {
    return this.raw.readBigInt64BE(BASE_OFFSET)
  }
  get magic(): 0 | 1 {
    return this.raw[MAGIC] as 0 | 1
  }
  get attributes(): number {
    return this.raw[MAGIC + 1]!
  }
  /** Attribute bits 0-2: 0 none, 1 gzip, 2 snappy, 3 lz4 (LegacyRecord.COMPRESSION_CODEC_MASK). */
  get compression(): number {
    return this.attributes & 0x07
  }
}

/** Bytes after messageSize in the smallest magic 0 message: crc, magic, attributes, two -1 lengths (LegacyRecord.RECORD_OVERHEAD_V0). */
export const LEGACY_MIN_MESSAGE_SIZE = 4 + 1 + 1 + 4 + 4
