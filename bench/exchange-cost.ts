/**
 * What the message path costs without sockets: an Exchange (src/pipeline/exchange.ts) with the built-in filters as
 * shipped (statistics with per-topic figures, ApiVersions narrowing, address rewriting) fed a Produce v9 request of
 * one 100 B record and its response, again and again, as the connection would hand them over (one socket read
 * each). Prints the process CPU time per request and response: the part of the sidecar's per-request cost that is
 * its own code, apart from socket I/O (bench/request-cost.ts measures the whole). `--config=FILE.yaml` adds the
 * filters of a sidecar configuration after the built-in ones (e.g. bench/configs/rate-limit.yaml), so a filter's
 * own cost per request can be told apart from the noise of socket figures. `--connections=N` spreads the requests
 * over N connections in turn, as N clients each with one request in flight do (bench/request-cost.ts): each request
 * then finds its connection's objects out of the CPU caches, which one connection never shows.
 *
 *   npm run build && node --single-threaded-gc --max-semi-space-size=2 dist/bench/exchange-cost.js [--requests=200000]
 *     [--config=bench/configs/rate-limit.yaml] [--connections=100]
 */
import pino from 'pino'
import { encodeRequest, encodeResponse } from '../codec/messages/frames.js'
import { ApiKey } from '../codec/messages/generated/apis.js'
import { encodeRecordBatch } from '../codec/records/index.js'
import { Frame } from '../src/pipeline/frame.js'
import { benchConnection, benchSetup, benchStatistics, configureFilters } from './lib/socketless-exchange.js'

const N = Number(process.argv.find((a) => a.startsWith('--requests='))?.split('=')[1] ?? 200_000)
const CONNECTIONS = Number(process.argv.find((a) => a.startsWith('--connections='))?.split('=')[1] ?? 1)
const CONFIG_FILE = process.argv.find((a) => a.startsWith('--config='))?.slice('--config='.length)
const log = pino({ level: 'silent' })
const stats = benchStatistics()
const configured = await configureFilters(benchSetup(log, stats, CONFIG_FILE), CONFIG_FILE)
const connections = Array.from({ length: CONNECTIONS }, (_, i) => benchConnection(i + 1, configured, stats, log))
const records = encodeRecordBatch([{ value: Buffer.alloc(100, 97) }])
const request = encodeRequest(
  { requestApiKey: ApiKey.Produce, requestApiVersion: 9, correlationId: 0, clientId: 'bench-client' },
  {
    transactionalId: null,
    acks: 1,
    timeoutMs: 30_000,
    topicData: [{ name: 'bench', partitionData: [{ index: 0, records }] }],
  },
)
const response = encodeResponse(
  ApiKey.Produce,
  9,
  { correlationId: 0 },
  {
    throttleTimeMs: 0,
    responses: [
      {
        name: 'bench',
        partitionResponses: [
          {
            index: 0,
            errorCode: 0,
            baseOffset: 5n,
            logAppendTimeMs: -1n,
            logStartOffset: 0n,
            recordErrors: [],
            errorMessage: null,
          },
        ],
      },
    ],
  },
)
for (let round = 1; round <= 3; round++) {
  const before = process.cpuUsage()
  for (let i = 0; i < N; i++) {
    const { state, exchange } = connections[i % CONNECTIONS]!
    request.writeInt32BE(i, 8)
    response.writeInt32BE(i, 4)
    state.readAt = performance.now()
    state.reading = true
    exchange.onRequest(Frame.of(request))
    state.readAt = performance.now()
    exchange.onResponse(Frame.of(response))
    state.reading = false
  }
  const cpu = process.cpuUsage(before)
  console.log(
    `round ${round}: ${((cpu.user + cpu.system) / N).toFixed(2)} CPU us per Produce request and response (${CONNECTIONS} connection${CONNECTIONS === 1 ? '' : 's'})`,
  )
}
