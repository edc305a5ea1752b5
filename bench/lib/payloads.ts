/**
 * Record values that real schemas accept, for measuring schema validation end to end (`npm run bench -- --payloads
 * json|avro`): orders of exactly the cell's record size, valid against bench/configs/schema-validation/order.avsc and
 * order.schema.json, written to a file kafka-producer-perf-test reads with --payload-file (and the kafkajs driver
 * with its payloadFile).
 *
 * kafka-producer-perf-test reads that file as UTF-8 text and splits it at "\n" (ProducerPerformance#readPayloadFile,
 * Apache Kafka tools), so every payload must be bytes that survive that: ASCII without "\n". JSON is text already.
 * Avro's binary encoding is made to be: every string shorter than 64 bytes and every int or count below 64, so each
 * zig-zag varint is one byte under 0x80 (Avro 1.11 specification, "Binary Encoding"), and none equal to 5, whose
 * zig-zag byte is "\n". Arrays hold at most 63 items in their one block, which bounds Avro orders to about 4 KiB.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export type PayloadKind = 'json' | 'avro'

/** How many distinct payloads a file holds: the perf tool picks one at random per record. */
const PAYLOADS_PER_FILE = 256

/** The largest Avro order this generator can write text-safe (63 lines of 63 bytes plus the order's fields). */
export const MAX_AVRO_PAYLOAD_BYTES = 4000

const CURRENCIES = ['EUR', 'USD', 'GBP'] as const
const NOTE = 'gift wrap please, leave at the side door, ring twice, thanks a lot'

/** Writes (once per kind and size) the payload file for `recordSize`-byte orders under `dir`; returns its path. */
export function payloadFile(kind: PayloadKind, recordSize: number, dir: string): string {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `orders-${kind}-${recordSize}.txt`)
  const payloads = Array.from({ length: PAYLOADS_PER_FILE }, (_, i) =>
    kind === 'json' ? jsonOrder(i, recordSize) : avroOrder(i, recordSize),
  )
  for (const p of payloads) {
    if (p.length !== recordSize) throw new Error(`${kind} order of ${p.length} bytes, expected ${recordSize}`)
    if (p.some((b) => b === 0x0a || b >= 0x80)) throw new Error(`${kind} order is not newline-free ASCII`)
  }
  writeFileSync(path, Buffer.concat(payloads.flatMap((p, i) => (i === 0 ? [p] : [Buffer.from('\n'), p]))))
  return path
}

/** The payloads of a file written by payloadFile, as the perf tool splits them. */
export function readPayloads(path: string): Buffer[] {
  const text = readFileSync(path)
  const out: Buffer[] = []
  let start = 0
  for (let i = 0; i <= text.length; i++) {
    if (i === text.length || text[i] === 0x0a) {
      out.push(text.subarray(start, i))
      start = i + 1
    }
  }
  return out
}

/** Whether a record size can carry an order of this kind (Avro: see MAX_AVRO_PAYLOAD_BYTES; both: a minimal order). */
export function payloadFits(kind: PayloadKind, recordSize: number): boolean {
  return kind === 'json' ? recordSize >= 160 : recordSize >= 64 && recordSize <= MAX_AVRO_PAYLOAD_BYTES
}

// ------------------------------------------------------------------ JSON

function jsonOrder(i: number, size: number): Buffer {
  const head = JSON.stringify({
    id: `order-${i}`,
    customer: `c${i}@shop.example`,
    amount: 1000 + i,
    currency: CURRENCIES[i % 3]!,
  }).slice(0, -1)
  const lineText = (n: number, note: string) => JSON.stringify({ sku: `sku-${n}`, qty: 1 + (n % 4), note })
  // `${head},"lines":[${lines joined by ","}]}`: whole lines while a full one and the last still fit, then one
  // line whose note takes up exactly what is left.
  const lines: string[] = []
  let used = head.length + ',"lines":[]}'.length
  const lastEmpty = () => lineText(lines.length, '').length + (lines.length > 0 ? 1 : 0)
  for (;;) {
    const next = lineText(lines.length, NOTE)
    const cost = next.length + (lines.length > 0 ? 1 : 0)
    if (used + cost + lastEmpty() + 1 > size) break
    lines.push(next)
    used += cost
  }
  const missing = size - used - lastEmpty()
  if (missing < 0) throw new Error(`a JSON order does not fit in ${size} bytes`)
  lines.push(lineText(lines.length, 'n'.repeat(missing)))
  return Buffer.from(`${head},"lines":[${lines.join(',')}]}`)
}

// ------------------------------------------------------------------ Avro (order.avsc, written by hand: see above)

/** One zig-zag varint byte for 0 <= n < 64 (n never 5, whose byte is "\n"). */
function small(n: number): number {
  if (n < 0 || n >= 64 || n === 5) throw new Error(`${n} has no one-byte text-safe encoding`)
  return n * 2
}

function avroString(s: string): Buffer {
  return Buffer.concat([Buffer.from([small(s.length)]), Buffer.from(s, 'latin1')])
}

/** The note lengths of k lines summing to `total`, each 0..63 and never 5; undefined if there are none. */
function noteLengths(k: number, total: number): number[] | undefined {
  if (k < 1 || total < 0 || total > 63 * k) return undefined
  const lengths = Array.from({ length: k }, (_, j) => Math.floor(total / k) + (j < total % k ? 1 : 0))
  for (let j = 0; j < k; j++) {
    if (lengths[j] !== 5) continue
    // Move one byte to (or take one from) another line that stays text-safe.
    const to = lengths.findIndex((n, x) => x !== j && n + 1 <= 63 && n + 1 !== 5)
    if (to >= 0) {
      lengths[j] = 4
      lengths[to]! += 1
      continue
    }
    const from = lengths.findIndex((n, x) => x !== j && n - 1 >= 0 && n - 1 !== 5)
    if (from < 0) return undefined
    lengths[j] = 6
    lengths[from]! -= 1
  }
  return lengths.every((n) => n !== 5 && n >= 0 && n <= 63) ? lengths : undefined
}

/**
 * Order { id: string, customer: string, amount: int, currency: enum Currency, lines: array<Line> } with
 * Line { sku: string, qty: int, note: string }, in the field order of order.avsc.
 */
function avroOrder(i: number, size: number): Buffer {
  const head = Buffer.concat([
    avroString(`order-${i}`),
    avroString(`c${i}@shop.example`),
    Buffer.from([small(10 + (i % 50))]), // amount
    Buffer.from([small(i % 3)]), // currency: the symbol's index
  ])
  const sku = (n: number) => `sku-${String(n).padStart(3, '0')}`
  // Each line: sku (1 + 7 bytes), qty (1), note (1 + its length).
  const lineBytes = 10
  // What the lines hold: all but the head, the block's count byte and the terminating empty block (0).
  const forLines = size - head.length - 2
  for (let k = Math.max(1, Math.ceil(forLines / (lineBytes + 63))); k <= 63; k++) {
    if (k === 5) continue
    const notes = noteLengths(k, forLines - lineBytes * k)
    if (notes === undefined) continue
    const lines = notes.map((n, j) =>
      Buffer.concat([avroString(sku(j)), Buffer.from([small(1 + (j % 4))]), avroString('n'.repeat(n))]),
    )
    return Buffer.concat([head, Buffer.from([small(k)]), ...lines, Buffer.from([0])])
  }
  throw new Error(`no text-safe Avro order of ${size} bytes`)
}
