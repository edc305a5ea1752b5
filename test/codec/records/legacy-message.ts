/** A magic 1 message (offset, size, crc, magic, attributes, timestamp, key (null), value), for record-set tests. */
export function legacyMessage(offset: bigint, value: string): Buffer {
  const body = Buffer.alloc(4 + 1 + 1 + 8 + 4 + 4 + value.length)
  body.writeInt8(1, 4)
  body.writeBigInt64BE(1234n, 6)
  body.writeInt32BE(-1, 14)
  body.writeInt32BE(value.length, 18)
  body.write(value, 22)
  const head = Buffer.alloc(12)
  head.writeBigInt64BE(offset, 0)
  head.writeInt32BE(body.length, 8)
  return Buffer.concat([head, body])
}
