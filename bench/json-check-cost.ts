/**
 * What checking a 1 KiB JSON order costs, in CPU nanoseconds per record (process.cpuUsage, so time the process spends
 * waiting for a core on a shared machine does not count): the orders `npm run bench -- --payloads json` writes
 * (bench/lib/payloads.ts) against bench/configs/schema-validation/order.schema.json, the schema the validation target
 * uses. Three figures, each over several repetitions (min and median printed):
 *   - check: CompiledSchema.check on each record's own Buffer (the payload as a view);
 *   - validAt: CompiledSchema.validAt on the same records where they lie in one larger buffer (no view);
 *   - record check: checkPartition on an uncompressed batch of the records under a file rule, per record (the batch
 *     walk, the rule, the check: the whole per-record path of the filter but the request around it).
 * Garbage collections seen during the measured repetitions are counted (PerformanceObserver 'gc').
 *
 *   npm run build && node dist/bench/json-check-cost.js [--reps=9] [--records=256] [--loops=200]
 */
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PerformanceObserver } from 'node:perf_hooks'
import { encodeRecordBatch } from '../codec/records/index.js'
import type { PartRule, Rule } from '../filters/schema-validation/config.js'
import type { LocalSchemas } from '../filters/schema-validation/local-schemas.js'
import { type CheckEnvironment, checkPartition } from '../filters/schema-validation/record-check.js'
import { compileJsonSchema } from '../filters/schema-validation/validators/json-schema.js'
import { payloadFile, readPayloads } from './lib/payloads.js'

const arg = (name: string, fallback: number): number =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback)
const REPS = arg('reps', 9)
const RECORDS = arg('records', 256)
const LOOPS = arg('loops', 200)
const RECORD_BYTES = 1024
/** Records per batch in the record-check figure (the perf tool's 1 KiB batches hold about this many at 16 KiB). */
const BATCH_RECORDS = 16

const schemaPath = join(import.meta.dirname, '../../bench/configs/schema-validation/order.schema.json')
const compiled = compileJsonSchema(readFileSync(schemaPath, 'utf8'))
const payloads = readPayloads(payloadFile('json', RECORD_BYTES, join(tmpdir(), 'ksc-json-check-cost'))).slice(
  0,
  RECORDS,
)
for (const p of payloads) if (compiled.check(p) !== undefined) throw new Error('a bench order does not pass')

// The records one after another in one buffer, each preceded by a 7-byte stand-in for the record's own fields.
const GAP = 7
const joined = Buffer.concat(payloads.flatMap((p) => [Buffer.alloc(GAP, 0x20), p]))
const spans: [number, number][] = []
for (let i = 0, at = 0; i < payloads.length; i++) {
  at += GAP
  spans.push([at, at + payloads[i]!.length])
  at += payloads[i]!.length
}

const FILE: PartRule = { format: 'json-schema', source: { kind: 'file', path: 'order.schema.json' }, allowNull: false }
const rule: Rule = {
  name: 'orders',
  match: { kind: 'exact', topic: 'orders' },
  key: undefined,
  value: FILE,
  requiredHeaders: [],
  onRegistryDown: 'fail-closed',
}
const env: CheckEnvironment = {
  resolve: () => undefined,
  canRefresh: () => false,
  local: { get: () => compiled, label: () => 'file order.schema.json' } as unknown as LocalSchemas,
}
const batches: Buffer[] = []
for (let i = 0; i + BATCH_RECORDS <= payloads.length; i += BATCH_RECORDS) {
  batches.push(encodeRecordBatch(payloads.slice(i, i + BATCH_RECORDS).map((value) => ({ value }))))
}

let gcs = 0
new PerformanceObserver((list) => {
  gcs += list.getEntries().length
}).observe({ entryTypes: ['gc'] })

/** Lets the observer hear of the collections so far (it is told between turns of the event loop). */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 20))

/** CPU ns per record of `run` (which checks `perRun` records), min and median over REPS, after a warm-up. */
async function measure(name: string, perRun: number, run: () => void): Promise<void> {
  for (let i = 0; i < LOOPS; i++) run()
  const figures: number[] = []
  await settle()
  const gcBefore = gcs
  for (let r = 0; r < REPS; r++) {
    const start = process.cpuUsage()
    for (let i = 0; i < LOOPS; i++) run()
    const used = process.cpuUsage(start)
    figures.push(((used.user + used.system) * 1000) / (LOOPS * perRun))
    await settle()
  }
  figures.sort((a, b) => a - b)
  const median = figures[Math.floor(figures.length / 2)]!
  console.log(
    `| ${name} | ${figures[0]!.toFixed(0)} | ${median.toFixed(0)} | ${((gcs - gcBefore) / REPS).toFixed(1)} |`,
  )
}

console.log(
  `json-check-cost: CPU ns per ${RECORD_BYTES} B JSON order (order.schema.json), ${payloads.length} records, ${REPS} reps of ${LOOPS} loops`,
)
console.log(`node ${process.version}, ${process.arch}\n`)
console.log('| path | min ns/record | median ns/record | GCs per rep |')
console.log('|---|---:|---:|---:|')
await measure('check (a Buffer per record)', payloads.length, () => {
  for (let i = 0; i < payloads.length; i++) if (compiled.check(payloads[i]!) !== undefined) throw new Error('verdict')
})
const validAt = compiled.validAt
if (validAt !== undefined) {
  await measure('validAt (in place)', spans.length, () => {
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i]!
      if (!validAt(joined, s[0], s[1])) throw new Error('verdict')
    }
  })
}
await measure(`record check (checkPartition, ${BATCH_RECORDS}-record batches)`, batches.length * BATCH_RECORDS, () => {
  for (let i = 0; i < batches.length; i++) {
    if (checkPartition(batches[i]!, 'orders', rule, env).failed !== 0) throw new Error('verdict')
  }
})
process.exit(0)
