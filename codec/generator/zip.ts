import { readFileSync } from 'node:fs'
import { inflateRawSync } from 'node:zlib'

/**
 * Reads entries out of a .jar (a zip file) without unzip on the PATH: the message specs ship inside
 * org.apache.kafka:kafka-clients as common/message/*.json. Only what jars use is supported:
 * stored (0) and deflated (8) entries, no zip64, no encryption.
 * Format: PKWARE APPNOTE.TXT sections 4.3.7 (local header), 4.3.12 (central directory), 4.3.16 (end record).
 */
export function readZipEntries(path: string, wanted: (name: string) => boolean): Map<string, Buffer> {
  const zip = readFileSync(path)
  const eocd = findEndOfCentralDirectory(zip)
  const count = zip.readUInt16LE(eocd + 10)
  let p = zip.readUInt32LE(eocd + 16)
  const out = new Map<string, Buffer>()
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`${path}: bad central directory entry at ${p}`)
    const method = zip.readUInt16LE(p + 10)
    const compressedSize = zip.readUInt32LE(p + 20)
    const nameLen = zip.readUInt16LE(p + 28)
    const extraLen = zip.readUInt16LE(p + 30)
    const commentLen = zip.readUInt16LE(p + 32)
    const localOffset = zip.readUInt32LE(p + 42)
    const name = zip.toString('utf8', p + 46, p + 46 + nameLen)
    p += 46 + nameLen + extraLen + commentLen
    if (!wanted(name)) continue
    const lnameLen = zip.readUInt16LE(localOffset + 26)
    const lextraLen = zip.readUInt16LE(localOffset + 28)
    const start = localOffset + 30 + lnameLen + lextraLen
    const data = zip.subarray(start, start + compressedSize)
    if (method === 0) out.set(name, Buffer.from(data))
    else if (method === 8) out.set(name, inflateRawSync(data))
    else throw new Error(`${path}: entry ${name} uses unsupported compression method ${method}`)
  }
  return out
}

function findEndOfCentralDirectory(zip: Buffer): number {
  for (let p = zip.length - 22; p >= Math.max(0, zip.length - 22 - 0xffff); p--) {
    if (zip.readUInt32LE(p) === 0x06054b50) return p
  }
  throw new Error('not a zip file: no end-of-central-directory record')
}
