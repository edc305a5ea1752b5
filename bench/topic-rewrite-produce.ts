/**
 * What a canary's Produce request by name (v7, as kafkajs produces) costs topic-rewrite, in process: the held way (the
 * frame's pieces decoded into a message, onRequest, encoded again around its records: what the runtime did before
 * Filter.renameRequestTopics) against the streamed rename (codec/messages/topic-rename-stream.ts through the filter's
 * renameRequestTopics, the runtime's way now). The request: 8 partitions x one 64 KiB batch of 1 KiB records, cut
 * into 64 KiB pieces as socket reads hand it over. Prints what bench/topic-rewrite-fetch.ts prints: CPU microseconds
 * per MB, output bytes that are not views of the input, heap and array buffer bytes one call leaves behind.
 *
 *   npm run build && node --expose-gc dist/bench/topic-rewrite-produce.js [--time-ms=2000]
 */
import { encodeRequest } from '../codec/messages/frames.js'
import { ApiKey } from '../codec/messages/generated/apis.js'
import type { ProduceRequest } from '../codec/messages/generated/produce-request.js'
import { TopicRenameStream } from '../codec/messages/topic-rename-stream.js'
import { encodeRecordBatch } from '../codec/records/index.js'
import { topicRewritePlugin } from '../filters/topic-rewrite/index.js'
import type { Filter, FilterContext } from '../src/pipeline/filter-api.js'
import { Frame } from '../src/pipeline/frame.js'
import { decodeRequestFrame, reencodeRequest } from '../src/pipeline/message-decoding.js'
import { fakeContext, setupContext } from '../test/support/filter-testing.js'
import { timeMsArg } from './lib/micro.js'
import { allocatedPerCall, cpuPerCall } from './lib/rename-cost.js'

const VERSION = 7
const PIECE = 64 * 1024
const TIME_MS = timeMsArg()

/** One partition's records: one batch of 1 KiB records, 64 KiB in all (kafkajs' default batch size is per partition). */
function partitionRecords(): Buffer {
  const n = Math.floor((64 * 1024 - 61) / (1024 + 10))
  return encodeRecordBatch(
    Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.alloc(1024 - 3, 97 + (i % 26)) })),
    { baseOffset: 0n, timestamp: 1_700_000_000_000n },
  )
}

function requestPieces(topic: string): { pieces: Buffer[]; length: number } {
  const body: ProduceRequest = {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [
      { name: topic, partitionData: Array.from({ length: 8 }, (_, index) => ({ index, records: partitionRecords() })) },
    ],
  }
  const frame = encodeRequest(
    { requestApiKey: ApiKey.Produce, requestApiVersion: VERSION, correlationId: 9, clientId: 'bench' },
    body,
  )
  const pieces: Buffer[] = []
  for (let at = 0; at < frame.length; at += PIECE) pieces.push(Buffer.from(frame.subarray(at, at + PIECE)))
  return { pieces, length: frame.length }
}

/** A canary connection writing bench-orders (which goes to bench-orders-canary). */
async function canary(): Promise<{ filter: Filter; ctx: FilterContext }> {
  const config = topicRewritePlugin.parseConfig({
    rules: [{ clients: { percent: 100 }, topics: [{ exact: 'bench-orders', to: 'bench-orders-canary' }] }],
  })
  const configured = await topicRewritePlugin.configure(config, setupContext())
  const ctx = fakeContext({ clientId: 'bench' })
  const filter = configured.forConnection(ctx)
  filter.onRequestBytes?.({ apiKey: ApiKey.ApiVersions, apiVersion: 3, correlationId: 0, size: 30 }, ctx)
  return { filter, ctx }
}

/** Output bytes, so neither way can be optimised away. */
let sink = 0

async function main(): Promise<void> {
  const { filter, ctx } = await canary()
  const { pieces, length } = requestPieces('bench-orders')

  const held = (): readonly Buffer[] => {
    // As the runtime held it: records decoded as bytes (a filter that may change a Produce request sees them whole).
    const req = decodeRequestFrame(Frame.fromPieces(pieces, length), false)
    const verdict = filter.onRequest!(req, ctx) as { kind: string } | undefined
    if (verdict?.kind !== 'replace') throw new Error('the held way did not rename')
    const out = reencodeRequest(req, false)
    sink += out.length
    return out.pieces()
  }
  const streamed = (): readonly Buffer[] => {
    const rename = filter.renameRequestTopics!(
      { apiKey: ApiKey.Produce, apiVersion: VERSION, correlationId: 9, expectsResponse: false },
      ctx,
    )!
    const out: Buffer[] = []
    const stream = new TopicRenameStream(length, VERSION, rename, (p) => out.push(p), ApiKey.Produce)
    for (const p of pieces) stream.push(p)
    sink += stream.outputLength
    return out
  }
  const input = new Set(pieces.map((p) => p.buffer))
  /** Output bytes that are not views of the input pieces: what was copied or written anew. */
  const newBytes = (out: readonly Buffer[]) => out.filter((p) => !input.has(p.buffer)).reduce((n, p) => n + p.length, 0)
  const same = Buffer.concat(held()).equals(Buffer.concat(streamed()))
  if (!same) throw new Error('the two ways differ')

  const mb = length / 1e6
  console.log(
    `Produce v${VERSION} request, 8 partitions x one 64 KiB batch of 1 KiB records, ${pieces.length} pieces of ` +
      `64 KiB (${length} bytes), renamed bench-orders -> bench-orders-canary (both ways give the same bytes)\n`,
  )
  console.log(
    '| way | CPU us per MB | CPU us per request | output bytes not views of the input | heap + array buffers grown per request |',
  )
  console.log('|---|---:|---:|---:|---:|')
  for (const [name, fn] of [
    ['held: decode from pieces + onRequest + encode around records', held],
    ['streamed: renameRequestTopics + TopicRenameStream', streamed],
  ] as const satisfies readonly (readonly [string, () => readonly Buffer[]])[]) {
    const cpuUs = cpuPerCall(fn, TIME_MS)
    const allocated = allocatedPerCall(fn)
    const grown = allocated === undefined ? 'n/a (run with --expose-gc)' : allocated.toFixed(0)
    console.log(`| ${name} | ${(cpuUs / mb).toFixed(2)} | ${cpuUs.toFixed(1)} | ${newBytes(fn())} | ${grown} |`)
  }
  if (sink === 0) console.log('')
}

await main()
