/**
 * What a canary's Fetch response by name (v11, as kafkajs fetches) costs topic-rewrite, in process: the held way (the
 * frame's pieces decoded into a message, onResponse, encoded again around its records: what the runtime did before
 * Filter.renameResponseTopics) against the streamed rename (codec/messages/topic-rename-stream.ts through the filter's
 * renameResponseTopics, the runtime's way now). The response: 8 partitions x 1 MiB of 1 KiB records in batches of
 * 16, cut into 64 KiB pieces as socket reads hand it over. Prints CPU microseconds per MB (process.cpuUsage, user +
 * system), the output bytes that are not views of the input (copied or written anew), and the heap and array buffer
 * bytes one call leaves behind after a forced collection (a lower bound on what it allocated: a collection during the
 * call hides what it freed).
 * Socket buffers are not in it: the held way also gives up a 64 KiB read buffer per piece it holds.
 *
 *   npm run build && node --expose-gc dist/bench/topic-rewrite-fetch.js [--time-ms=2000]
 */
import { encodeResponse } from '../codec/messages/frames.js'
import { ApiKey } from '../codec/messages/generated/apis.js'
import type { FetchResponse } from '../codec/messages/generated/fetch-response.js'
import { TopicRenameStream } from '../codec/messages/topic-rename-stream.js'
import { encodeRecordBatch } from '../codec/records/index.js'
import { topicRewritePlugin } from '../filters/topic-rewrite/index.js'
import type { DecodedRequest, Filter, FilterContext } from '../src/pipeline/filter-api.js'
import { Frame } from '../src/pipeline/frame.js'
import { decodeResponseFrame, reencodeResponse } from '../src/pipeline/message-decoding.js'
import { fakeContext, request, setupContext } from '../test/support/filter-testing.js'
import { timeMsArg } from './lib/micro.js'
import { allocatedPerCall, cpuPerCall } from './lib/rename-cost.js'

const VERSION = 11
const PIECE = 64 * 1024
const TIME_MS = timeMsArg()

/** One partition's records: 1 MiB of 1 KiB records, in batches of 16. */
function partitionRecords(): Buffer {
  const batches: Buffer[] = []
  let offset = 0n
  for (let size = 0; size < 1024 * 1024; ) {
    const b = encodeRecordBatch(
      Array.from({ length: 16 }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.alloc(1000, 97 + (i % 26)) })),
      { baseOffset: offset, timestamp: 1_700_000_000_000n },
    )
    offset += 16n
    batches.push(b)
    size += b.length
  }
  return Buffer.concat(batches)
}

function responsePieces(topic: string): { pieces: Buffer[]; length: number } {
  const records = partitionRecords()
  const body: FetchResponse = {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [
      {
        topic,
        partitions: Array.from({ length: 8 }, (_, partitionIndex) => ({
          partitionIndex,
          errorCode: 0,
          highWatermark: 100_000n,
          lastStableOffset: 100_000n,
          logStartOffset: 0n,
          abortedTransactions: null,
          preferredReadReplica: -1,
          records,
        })),
      },
    ],
  }
  const frame = encodeResponse(ApiKey.Fetch, VERSION, { correlationId: 9 }, body)
  const pieces: Buffer[] = []
  for (let at = 0; at < frame.length; at += PIECE) pieces.push(Buffer.from(frame.subarray(at, at + PIECE)))
  return { pieces, length: frame.length }
}

/** A canary connection that asked for bench-orders (which it reads from bench-orders-canary). */
async function canary(): Promise<{ filter: Filter; ctx: FilterContext; req: DecodedRequest }> {
  const config = topicRewritePlugin.parseConfig({
    rules: [{ clients: { percent: 100 }, topics: [{ exact: 'bench-orders', to: 'bench-orders-canary' }] }],
  })
  const configured = await topicRewritePlugin.configure(config, setupContext())
  const ctx = fakeContext({ clientId: 'bench' })
  const filter = configured.forConnection(ctx)
  filter.onRequestBytes?.({ apiKey: ApiKey.ApiVersions, apiVersion: 3, correlationId: 0, size: 30 }, ctx)
  const req = request(ApiKey.Fetch, VERSION, {
    topics: [{ topic: 'bench-orders', partitions: [{ partition: 0, fetchOffset: 0n }] }],
  })
  filter.onRequest!(req, ctx)
  return { filter, ctx, req }
}

/** Output bytes, so neither way can be optimised away. */
let sink = 0

async function main(): Promise<void> {
  const { filter, ctx, req } = await canary()
  const { pieces, length } = responsePieces('bench-orders-canary')

  const held = (): readonly Buffer[] => {
    const res = decodeResponseFrame(Frame.fromPieces(pieces, length), ApiKey.Fetch, VERSION, false, req)
    const verdict = filter.onResponse!(res, ctx) as { kind: string } | undefined
    if (verdict?.kind !== 'replace') throw new Error('the held way did not rename')
    const out = reencodeResponse(res, false)
    sink += out.length
    return out.pieces()
  }
  const streamed = (): readonly Buffer[] => {
    const rename = filter.renameResponseTopics!({ apiKey: ApiKey.Fetch, apiVersion: VERSION, request: req }, ctx)!
    const out: Buffer[] = []
    const stream = new TopicRenameStream(length, VERSION, rename, (p) => out.push(p))
    for (const p of pieces) stream.push(p)
    sink += stream.outputLength
    return out
  }
  const input = new Set(pieces.map((p) => p.buffer))
  /** Output bytes that are not views of the input pieces: what was copied or written anew. */
  const newBytes = (out: readonly Buffer[]) => out.filter((p) => !input.has(p.buffer)).reduce((n, p) => n + p.length, 0)

  const mb = length / 1e6
  console.log(
    `Fetch v${VERSION} response, 8 partitions x 1 MiB of 1 KiB records, ${pieces.length} pieces of 64 KiB ` +
      `(${length} bytes), renamed bench-orders-canary -> bench-orders\n`,
  )
  console.log(
    '| way | CPU us per MB | CPU us per response | output bytes not views of the input | heap + array buffers grown per response |',
  )
  console.log('|---|---:|---:|---:|---:|')
  for (const [name, fn] of [
    ['held: decode from pieces + onResponse + encode around records', held],
    ['streamed: renameResponseTopics + TopicRenameStream', streamed],
  ] as const satisfies readonly (readonly [string, () => readonly Buffer[]])[]) {
    const cpuUs = cpuPerCall(fn, TIME_MS)
    const allocated = allocatedPerCall(fn)
    const grown = allocated === undefined ? 'n/a (run with --expose-gc)' : allocated.toFixed(0)
    console.log(`| ${name} | ${(cpuUs / mb).toFixed(2)} | ${cpuUs.toFixed(1)} | ${newBytes(fn())} | ${grown} |`)
  }
  if (sink === 0) console.log('')
}

await main()
