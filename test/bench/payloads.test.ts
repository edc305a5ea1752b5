import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { MAX_AVRO_PAYLOAD_BYTES, payloadFile, readPayloads } from '../../bench/lib/payloads.js'
import { compileAvro } from '../../filters/schema-validation/validators/avro.js'
import { compileJsonSchema } from '../../filters/schema-validation/validators/json-schema.js'

/**
 * The bench's --payloads orders (bench/lib/payloads.ts): each exactly its cell's size, text that
 * kafka-producer-perf-test's --payload-file reading keeps intact (ASCII, no "\n"), and accepted by the
 * schema-validation filter's own compiled schemas, so a bench run with validation checks real records and
 * rejects none.
 */
const schemas = join(import.meta.dirname, '../../bench/configs/schema-validation')
const dir = mkdtempSync(join(tmpdir(), 'ksc-payloads-'))

describe('bench payloads', () => {
  const avro = compileAvro(readFileSync(join(schemas, 'order.avsc'), 'utf8'))
  const json = compileJsonSchema(readFileSync(join(schemas, 'order.schema.json'), 'utf8'))

  it.each([
    ['avro', 64],
    ['avro', 100],
    ['avro', 1024],
    ['avro', 1500],
    ['avro', MAX_AVRO_PAYLOAD_BYTES],
    ['json', 160],
    ['json', 1024],
    ['json', 65536],
  ] as const)('%s orders of %i bytes are valid, exact and newline-free', (kind, size) => {
    const payloads = readPayloads(payloadFile(kind, size, dir))
    expect(payloads).toHaveLength(256)
    for (const p of payloads) {
      expect(p.length).toBe(size)
      expect(p.every((b) => b !== 0x0a && b < 0x80)).toBe(true)
      expect((kind === 'avro' ? avro : json).check(p)).toBeUndefined()
    }
  })

  it('every Avro size from 64 bytes up to the maximum has an order', () => {
    for (let size = 64; size <= MAX_AVRO_PAYLOAD_BYTES; size += 97) {
      const [p] = readPayloads(payloadFile('avro', size, dir))
      expect(p!.length).toBe(size)
      expect(avro.check(p!)).toBeUndefined()
    }
  })
})
