import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../codec/messages/frames.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { FetchResponse } from '../../codec/messages/generated/fetch-response.js'
import type { MetadataResponse } from '../../codec/messages/generated/metadata-response.js'
import type { ProduceRequest } from '../../codec/messages/generated/produce-request.js'
import type { ProduceResponse } from '../../codec/messages/generated/produce-response.js'
import { renameTopics } from '../../codec/messages/topic-rename-stream.js'
import { CompressionType, encodeRecordBatch } from '../../codec/records/index.js'
import { BrokerVersions } from '../../src/pipeline/broker-versions.js'
import { SYSTEM_CLOCK } from '../../src/pipeline/clock.js'
import { NO_OBSERVER } from '../../src/pipeline/connection-observer.js'
import { ConnectionState } from '../../src/pipeline/connection-state.js'
import { Exchange, type ExchangePort, type PauseReason } from '../../src/pipeline/exchange.js'
import {
  type DecodedRequest,
  type DecodedResponse,
  defaultRequest,
  type Filter,
  type FilterContext,
  forward,
  type RequestToRename,
  rejectPartitions,
  replace,
  respond,
  type TopicRename,
} from '../../src/pipeline/filter-api.js'
import { FilterChain } from '../../src/pipeline/filter-chain.js'
import { Frame } from '../../src/pipeline/frame.js'
import { handleTransient, newLease } from '../../src/pipeline/read-lease.js'
import { TopicDirectory } from '../../src/pipeline/topic-directory.js'
import { fetchResponse, prng, split } from '../support/fetch-responses.js'
import { produceFrameOf, produceRequest } from '../support/produce-requests.js'

/** The connection around an exchange, as plain arrays: what went to the broker, to the client, and what happened. */
class FakePort implements ExchangePort {
  readonly upstream: Buffer[] = []
  readonly client: Buffer[] = []
  readonly reports: { code: string; err: unknown }[] = []
  readonly mutes: number[] = []
  readonly pauses = new Set<PauseReason>()
  closedFor: string | undefined
  phase: ExchangePort['phase'] = 'open'

  toUpstream(frame: Frame): void {
    this.upstream.push(frame.whole())
  }
  toClient(frame: Frame): void {
    this.client.push(frame.whole())
  }
  pauseClient(reason: PauseReason): void {
    this.pauses.add(reason)
  }
  resumeClient(reason: PauseReason): void {
    this.pauses.delete(reason)
  }
  muteClient(ms: number): void {
    this.mutes.push(ms)
  }
  report(code: string, err: unknown): void {
    this.reports.push({ code, err })
  }
  protocolError(side: string, err: unknown): void {
    this.close(`${side} protocol error: ${(err as Error).message}`)
  }
  internalError(what: string, err: unknown): void {
    this.close(`internal error in ${what}: ${(err as Error).message}`)
  }
  close(reason: string): void {
    this.closedFor ??= reason
    this.phase = 'closed'
  }
  settled(): void {}
}

function setup(filters: Filter[], upstreamLease = newLease(), clientLease = newLease()) {
  const port = new FakePort()
  const state = new ConnectionState(
    {
      connectionId: 1,
      peer: { address: '127.0.0.1', port: 5000 },
      listener: { kind: 'bootstrap', port: 9092 },
      principal: undefined,
      tls: false,
    },
    pino({ level: 'silent' }),
  )
  const observed: Error[] = []
  const chain = new FilterChain(filters, (_f, err) => observed.push(err))
  const topics = new TopicDirectory()
  const exchange = new Exchange(
    state,
    chain,
    port,
    {
      observer: NO_OBSERVER,
      services: {
        brokers: { localEndpointFor: (nodeId) => ({ host: '127.0.0.1', port: 9093 + nodeId }) },
        clock: SYSTEM_CLOCK,
        topics,
        versions: new BrokerVersions(),
        upstream: undefined,
      },
      maxInflightRequests: 100,
      limits: { maxUnauthenticatedFrameBytes: 524_288, maxNonRecordRequestBytes: 8 << 20 },
      frameLogging: () => false,
    },
    clientLease,
    upstreamLease,
  )
  return { port, exchange, observed, topics, state }
}

const metadataRequest = (correlationId: number) =>
  encodeRequest(
    { requestApiKey: ApiKey.Metadata, requestApiVersion: 12, correlationId, clientId: 'app' },
    { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false },
  )

const metadataResponse = (correlationId: number, topics: MetadataResponse['topics'] = [], version = 12) =>
  encodeResponse(ApiKey.Metadata, version, { correlationId }, {
    throttleTimeMs: 0,
    brokers: [],
    clusterId: 'c',
    controllerId: 1,
    topics,
    // Metadata v13 adds a top-level error code (MetadataResponse.json).
    ...(version >= 13 ? { errorCode: 0 } : {}),
  } satisfies MetadataResponse)

const correlationOf = (frame: Buffer) => frame.readInt32BE(8)
const responseCorrelationOf = (frame: Buffer) => frame.readInt32BE(4)

describe('Exchange: observers have one meaning (never waited for, verdicts not applied)', () => {
  const misbehaving = (verdict: unknown): Filter => ({
    observesOnly: true,
    wantsRequest: (k) => k === ApiKey.Metadata,
    wantsResponse: (k) => k === ApiKey.Metadata,
    onRequest: () => verdict as undefined,
    onResponse: () => verdict as undefined,
  })

  it('requests: an observer answering a request does not stop it reaching the broker; the verdict is reported', () => {
    const { port, exchange, observed } = setup([misbehaving(respond({}))])
    exchange.onRequest(Frame.of(metadataRequest(1)))
    expect(port.upstream.map(correlationOf)).toEqual([1])
    expect(port.client).toEqual([])
    expect(observed.map((e) => e.message)).toEqual([expect.stringContaining("returned 'respond'")])
  })

  it('whole responses: the client gets the broker bytes, an observer replacing the response is reported', () => {
    const { port, exchange, observed } = setup([misbehaving(replace({ brokers: [] }))])
    exchange.onRequest(Frame.of(metadataRequest(1)))
    const answer = metadataResponse(1)
    exchange.onResponse(Frame.of(answer))
    expect(port.client).toEqual([answer])
    // One report for the request's verdict, one for the response's.
    expect(observed).toHaveLength(2)
  })

  it('streamed responses: pieces go to the client as they come; an observer closing is reported, not applied', () => {
    const { port, exchange, observed } = setup([misbehaving({ kind: 'close', reason: 'no' })])
    exchange.onRequest(Frame.of(metadataRequest(7)))
    const answer = metadataResponse(7)
    expect(exchange.beginResponseStream(answer.subarray(0, 8), answer.length)).toBe(true)
    exchange.responsePiece(answer.subarray(0, 10), false)
    expect(port.client).toHaveLength(1)
    exchange.responsePiece(answer.subarray(10), true)
    expect(Buffer.concat(port.client)).toEqual(answer)
    expect(port.closedFor).toBeUndefined()
    expect(observed.map((e) => e.message)).toContainEqual(expect.stringContaining("returned 'close'"))
  })

  it('an observer returning a promise holds nothing up, and its rejection is reported', async () => {
    let settle: (() => void) | undefined
    const slow: Filter = {
      observesOnly: true,
      wantsRequest: () => true,
      onRequest: () =>
        new Promise<undefined>((_resolve, reject) => {
          settle = () => reject(new Error('late failure'))
        }),
    }
    const { port, exchange, observed } = setup([slow])
    exchange.onRequest(Frame.of(metadataRequest(1)))
    exchange.onRequest(Frame.of(metadataRequest(2)))
    expect(port.upstream.map(correlationOf)).toEqual([1, 2])
    settle!()
    await new Promise((r) => setImmediate(r))
    expect(observed.map((e) => e.message)).toEqual(['late failure'])
  })
})

describe('Exchange: a filter sends requests of its own (FilterContext.sendRequest)', () => {
  it('between pipelined client requests: the client gets its answers in order; the caller gets its own', async () => {
    const seenAfter: number[] = []
    let ctx: FilterContext | undefined
    const caller: Filter = {
      wantsRequest: (k) => k === ApiKey.Metadata,
      onRequest: (_req, c) => {
        ctx = c
        return undefined
      },
    }
    // A filter after the caller sees the own request; one before it (position 0) must not.
    const before: Filter = {
      wantsRequest: () => true,
      onRequest: (req) => void seenAfter.push(-req.header.correlationId),
    }
    const after: Filter = {
      wantsRequest: () => true,
      onRequest: (req) => void seenAfter.push(req.header.correlationId),
    }
    const { port, exchange } = setup([before, caller, after])
    exchange.onRequest(Frame.of(metadataRequest(1)))
    const own = ctx!.sendRequest(ApiKey.Metadata, 12, {
      topics: null,
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    })
    exchange.onRequest(Frame.of(metadataRequest(2)))
    const sent = port.upstream.map(correlationOf)
    expect(sent).toHaveLength(3)
    const ownId = sent[1]!
    expect(ownId).not.toBe(1)
    expect(ownId).not.toBe(2)
    expect(seenAfter).toEqual([-1, 1, ownId, -2, 2])

    exchange.onResponse(Frame.of(metadataResponse(1)))
    exchange.onResponse(Frame.of(metadataResponse(ownId, [])))
    exchange.onResponse(Frame.of(metadataResponse(2)))
    expect(port.client.map(responseCorrelationOf)).toEqual([1, 2])
    const answer = await own
    expect(answer.apiKey).toBe(ApiKey.Metadata)
    expect(answer.body.clusterId).toBe('c')
  })

  it('a connection that closes fails the requests still waiting', async () => {
    let ctx: FilterContext | undefined
    const caller: Filter = {
      wantsRequest: () => true,
      onRequest: (_r, c) => {
        ctx = c
        return undefined
      },
    }
    const { exchange } = setup([caller])
    exchange.onRequest(Frame.of(metadataRequest(1)))
    const own = ctx!.sendRequest(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false })
    exchange.close()
    await expect(own).rejects.toThrow(/closed/)
  })

  it('topicNames asks the broker for ids it has not seen, and learns from every Metadata answer', async () => {
    let ctx: FilterContext | undefined
    const caller: Filter = {
      wantsRequest: () => true,
      onRequest: (_r, c) => {
        ctx = c
        return undefined
      },
    }
    const { port, exchange, topics } = setup([caller])
    // What the broker supports on this connection comes from its ApiVersions answer.
    exchange.onRequest(
      Frame.of(
        encodeRequest(
          { requestApiKey: ApiKey.ApiVersions, requestApiVersion: 3, correlationId: 1, clientId: 'app' },
          { clientSoftwareName: 'x', clientSoftwareVersion: '1' },
        ),
      ),
    )
    exchange.onResponse(
      Frame.of(
        encodeResponse(
          ApiKey.ApiVersions,
          3,
          { correlationId: 1 },
          {
            errorCode: 0,
            apiKeys: [{ apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: 13 }],
            throttleTimeMs: 0,
          },
        ),
      ),
    )
    const id = 'AAAAAAAAAAAAAAAAAAAAAQ'
    topics.learn('AAAAAAAAAAAAAAAAAAAAAg', 'known')
    const names = ctx!.topicNames([id, 'AAAAAAAAAAAAAAAAAAAAAg'])
    const lookup = port.upstream.at(-1)!
    const req = decodeRequest(lookup, 4)
    expect(req.apiKey).toBe(ApiKey.Metadata)
    expect(req.apiVersion).toBe(13) // the highest both sides know; lookups by id need 12+
    expect((req.body as { topics: { topicId: string }[] }).topics.map((t) => t.topicId)).toEqual([id])
    exchange.onResponse(
      Frame.of(
        metadataResponse(
          req.header.correlationId,
          [
            {
              errorCode: 0,
              name: 'orders',
              topicId: id,
              isInternal: false,
              partitions: [],
              topicAuthorizedOperations: 0,
            },
          ],
          13,
        ),
      ),
    )
    expect(await names).toEqual(
      new Map([
        [id, 'orders'],
        ['AAAAAAAAAAAAAAAAAAAAAg', 'known'],
      ]),
    )
  })
})

describe('Exchange: topicIds', () => {
  it('asks the broker for names it does not know (Metadata with the zero id, as the codec writes uuids)', async () => {
    let ctx: FilterContext | undefined
    const caller: Filter = {
      wantsRequest: () => true,
      onRequest: (_r, c) => {
        ctx = c
        return undefined
      },
    }
    const { port, exchange } = setup([caller])
    exchange.onRequest(
      Frame.of(
        encodeRequest(
          { requestApiKey: ApiKey.ApiVersions, requestApiVersion: 3, correlationId: 1, clientId: 'app' },
          { clientSoftwareName: 'x', clientSoftwareVersion: '1' },
        ),
      ),
    )
    exchange.onResponse(
      Frame.of(
        encodeResponse(
          ApiKey.ApiVersions,
          3,
          { correlationId: 1 },
          { errorCode: 0, apiKeys: [{ apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: 12 }], throttleTimeMs: 0 },
        ),
      ),
    )
    const ids = ctx!.topicIds(['orders', 'missing'])
    const req = decodeRequest(port.upstream.at(-1)!, 4)
    expect((req.body as { topics: { name: string }[] }).topics.map((t) => t.name)).toEqual(['orders', 'missing'])
    const id = 'AAAAAAAAAAAAAAAAAAAABQ'
    exchange.onResponse(
      Frame.of(
        metadataResponse(req.header.correlationId, [
          {
            errorCode: 0,
            name: 'orders',
            topicId: id,
            isInternal: false,
            partitions: [],
            topicAuthorizedOperations: 0,
          },
          // A topic that does not exist comes back with the zero id, which is not learned.
          {
            errorCode: 3,
            name: 'missing',
            topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
            isInternal: false,
            partitions: [],
            topicAuthorizedOperations: 0,
          },
        ]),
      ),
    )
    expect(await ids).toEqual(
      new Map([
        ['orders', id],
        ['missing', undefined],
      ]),
    )
  })
})

describe('Exchange: rejectPartitions', () => {
  const produce = (correlationId: number, acks = -1) =>
    encodeRequest({ requestApiKey: ApiKey.Produce, requestApiVersion: 9, correlationId, clientId: 'app' }, {
      transactionalId: null,
      acks,
      timeoutMs: 1000,
      topicData: [
        {
          name: 'a',
          partitionData: [
            { index: 0, records: Buffer.alloc(0) },
            { index: 1, records: Buffer.alloc(0) },
          ],
        },
        { name: 'b', partitionData: [{ index: 0, records: Buffer.alloc(0) }] },
      ],
    } satisfies ProduceRequest)
  const guard: Filter = {
    wantsRequest: (k) => k === ApiKey.Produce,
    onRequest: () =>
      rejectPartitions([
        {
          topic: 'a',
          partition: 1,
          errorCode: 87,
          message: 'bad record',
          recordErrors: [{ batchIndex: 0, message: 'x' }],
        },
      ]),
  }

  it('sends the rest to the broker and merges its answer with the local errors in the client order', () => {
    const { port, exchange } = setup([guard])
    exchange.onRequest(Frame.of(produce(5)))
    const forwarded = decodeRequest(port.upstream[0]!, 4).body as ProduceRequest
    expect(forwarded.topicData.map((t) => [t.name, t.partitionData.map((p) => p.index)])).toEqual([
      ['a', [0]],
      ['b', [0]],
    ])
    const broker: ProduceResponse = {
      throttleTimeMs: 3,
      responses: [
        {
          name: 'b',
          partitionResponses: [
            {
              index: 0,
              errorCode: 0,
              baseOffset: 10n,
              logAppendTimeMs: -1n,
              logStartOffset: 0n,
              recordErrors: [],
              errorMessage: null,
            },
          ],
        },
        {
          name: 'a',
          partitionResponses: [
            {
              index: 0,
              errorCode: 0,
              baseOffset: 20n,
              logAppendTimeMs: -1n,
              logStartOffset: 0n,
              recordErrors: [],
              errorMessage: null,
            },
          ],
        },
      ],
    }
    exchange.onResponse(Frame.of(encodeResponse(ApiKey.Produce, 9, { correlationId: 5 }, broker)))
    const got = decodeResponse(port.client[0]!, ApiKey.Produce, 9, 4).body as ProduceResponse
    expect(got.throttleTimeMs).toBe(3)
    expect(
      got.responses.map((t) => [t.name, t.partitionResponses.map((p) => [p.index, p.errorCode, p.errorMessage])]),
    ).toEqual([
      [
        'a',
        [
          [0, 0, null],
          [1, 87, 'bad record'],
        ],
      ],
      ['b', [[0, 0, null]]],
    ])
    expect(got.responses[0]!.partitionResponses[1]!.recordErrors).toEqual([
      { batchIndex: 0, batchIndexErrorMessage: 'x' },
    ])
  })

  it('answers locally, asking the broker nothing, when every partition is rejected', () => {
    const all: Filter = {
      wantsRequest: () => true,
      onRequest: (req: DecodedRequest) =>
        rejectPartitions(
          (req.body as ProduceRequest).topicData.flatMap((t) =>
            t.partitionData.map((p) => ({ topic: t.name!, partition: p.index, errorCode: 29 })),
          ),
        ),
    }
    const { port, exchange } = setup([all])
    exchange.onRequest(Frame.of(produce(6)))
    expect(port.upstream).toEqual([])
    const got = decodeResponse(port.client[0]!, ApiKey.Produce, 9, 4).body as ProduceResponse
    expect(got.responses.flatMap((t) => t.partitionResponses.map((p) => p.errorCode))).toEqual([29, 29, 29])
  })
})

describe('Exchange: hooks that need no decode', () => {
  it('onRequestBytes sees every request with its size and may close; onResponseBytes sees every response', () => {
    const sizes: number[] = []
    const responses: number[] = []
    const counter: Filter = {
      onRequestBytes: (f) => {
        sizes.push(f.size)
        return f.correlationId === 3 ? { kind: 'close', reason: 'over quota' } : undefined
      },
      onResponseBytes: (f) => void responses.push(f.size),
    }
    const { port, exchange } = setup([counter])
    const first = metadataRequest(1)
    exchange.onRequest(Frame.of(first))
    exchange.onResponse(Frame.of(metadataResponse(1)))
    exchange.onRequest(Frame.of(metadataRequest(3)))
    expect(sizes).toEqual([first.length, first.length])
    expect(responses).toEqual([metadataResponse(1).length])
    expect(port.upstream).toHaveLength(1)
    expect(port.closedFor).toMatch(/over quota/)
  })

  it('countsResponseBytes narrows onResponseBytes to the APIs a filter counts', () => {
    const responses: number[] = []
    const counter: Filter = {
      onResponseBytes: (f) => void responses.push(f.correlationId),
      countsResponseBytes: (apiKey) => apiKey === ApiKey.Fetch,
    }
    const { exchange } = setup([counter])
    exchange.onRequest(Frame.of(metadataRequest(1)))
    exchange.onResponse(Frame.of(metadataResponse(1)))
    expect(responses).toEqual([])
  })

  it("wantsChanged: requests from then on are routed by the filter's new answers, those on their way keep theirs", () => {
    let wanted = false
    let context: FilterContext | undefined
    const seen: number[] = []
    const dynamic: Filter = {
      onRequestBytes: (_f, ctx) => {
        context = ctx
        return undefined
      },
      wantsResponse: () => wanted,
      onResponse: (res) => {
        seen.push(res.header.correlationId)
        return undefined
      },
    }
    const { port, exchange } = setup([dynamic])
    exchange.onRequest(Frame.of(metadataRequest(1)))
    wanted = true
    // Asked once per API and version: without a word from the filter the old answer stands.
    exchange.onRequest(Frame.of(metadataRequest(2)))
    context!.wantsChanged()
    exchange.onRequest(Frame.of(metadataRequest(3)))
    wanted = false
    context!.wantsChanged()
    exchange.onRequest(Frame.of(metadataRequest(4)))
    for (const id of [1, 2, 3, 4]) exchange.onResponse(Frame.of(metadataResponse(id)))
    expect(seen).toEqual([3])
    expect(port.client).toHaveLength(4)
  })

  it('onClientId is told of a new client id and may refuse it before the request goes on', () => {
    const ids: (string | null)[] = []
    const gate: Filter = {
      onClientId: (id) => {
        ids.push(id)
        return id === 'banned' ? { kind: 'close', reason: 'not allowed' } : undefined
      },
    }
    const { port, exchange, state } = setup([gate])
    exchange.onRequest(Frame.of(metadataRequest(1)))
    exchange.onRequest(Frame.of(metadataRequest(2)))
    expect(ids).toEqual(['app'])
    expect(state.clientId).toBe('app')
    exchange.onRequest(
      Frame.of(
        encodeRequest(
          { requestApiKey: ApiKey.Metadata, requestApiVersion: 12, correlationId: 3, clientId: 'banned' },
          { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false },
        ),
      ),
    )
    expect(port.upstream.map(correlationOf)).toEqual([1, 2])
    expect(port.closedFor).toMatch(/not allowed/)
  })

  it('muteClient reaches the connection; sizes are on decoded messages', () => {
    const sizes: number[] = []
    const throttler: Filter = {
      wantsResponse: () => true,
      onResponse: (res: DecodedResponse, ctx) => {
        sizes.push(res.size, res.request?.size ?? -1)
        ctx.muteClient(250)
        return forward()
      },
      wantsRequest: () => true,
      onRequest: () => undefined,
    }
    const { port, exchange } = setup([throttler])
    const req = metadataRequest(1)
    exchange.onRequest(Frame.of(req))
    const res = metadataResponse(1)
    exchange.onResponse(Frame.of(res))
    expect(port.mutes).toEqual([250])
    expect(sizes).toEqual([res.length, req.length])
  })
})

describe('Exchange: a response whose only change is renaming its topics (Filter.renameResponseTopics)', () => {
  const VERSION = 11
  const fetchRequest = (correlationId: number) =>
    encodeRequest(
      { requestApiKey: ApiKey.Fetch, requestApiVersion: VERSION, correlationId, clientId: 'app' },
      defaultRequest(ApiKey.Fetch, VERSION, {
        topics: [{ topic: 'orders', partitions: [{ partition: 0, fetchOffset: 0n }] }],
      }),
    )
  const rename: TopicRename = (n) => (n === 'orders-canary' ? 'orders' : n === 'hidden' ? undefined : n)

  function renamer(offer = true): Filter & { responses: number } {
    const f = {
      responses: 0,
      records: 'summary' as const,
      wantsRequest: (k: number) => k === ApiKey.Fetch,
      wantsResponse: (k: number) => k === ApiKey.Fetch,
      onRequest: () => undefined,
      onResponse: () => {
        f.responses++
        return undefined
      },
      renameResponseTopics: () => (offer ? rename : undefined),
    }
    return f
  }
  function observer(): Filter & { seen: string[][] } {
    const o = {
      seen: [] as string[][],
      observesOnly: true,
      records: 'summary' as const,
      wantsResponse: (k: number) => k === ApiKey.Fetch,
      onResponse: (res: DecodedResponse) => {
        o.seen.push((res.body as FetchResponse).responses.map((t) => t.topic!))
        return undefined
      },
    }
    return o
  }
  const answer = (correlationId: number) =>
    encodeResponse(
      ApiKey.Fetch,
      VERSION,
      { correlationId },
      fetchResponse(VERSION, ['orders-canary', 'hidden', 'audit'], 4),
    )
  const renamed = (frame: Buffer) => Buffer.concat(renameTopics([frame], frame.length, VERSION, rename))

  it('streamed: renamed on the way, in pieces, onResponse not called; observers nearer the client see it renamed', () => {
    const r = renamer()
    const o = observer()
    const { port, exchange } = setup([o, r])
    exchange.onRequest(Frame.of(fetchRequest(5)))
    const frame = answer(5)
    expect(exchange.beginResponseStream(frame.subarray(0, 8), frame.length)).toBe(true)
    const pieces = split(frame, prng(1), 20)
    for (const [i, p] of pieces.entries()) exchange.responsePiece(p, i === pieces.length - 1)
    expect(Buffer.concat(port.client)).toEqual(renamed(frame))
    expect(port.client.length).toBeGreaterThan(3)
    expect(r.responses).toBe(0)
    expect(o.seen).toEqual([['orders', 'audit']])
    expect(port.closedFor).toBeUndefined()
  })

  it('pieces held until the renamed size is known keep their read buffer (the lease is lent), later ones do not', () => {
    const lease = newLease()
    const { port, exchange } = setup([renamer()], lease)
    exchange.onRequest(Frame.of(fetchRequest(4)))
    const frame = encodeResponse(
      ApiKey.Fetch,
      VERSION,
      { correlationId: 4 },
      fetchResponse(VERSION, ['orders-canary'], 2),
    )
    expect(exchange.beginResponseStream(frame.subarray(0, 8), frame.length)).toBe(true)
    const lent: boolean[] = []
    // One topic: cut inside its name (ends at byte 37), then past it, then the rest.
    for (const [piece, done] of [
      [frame.subarray(0, 30), false],
      [frame.subarray(30, 60), false],
      [frame.subarray(60), true],
    ] as const) {
      handleTransient(lease, () => exchange.responsePiece(Buffer.from(piece), done))
      lent.push(lease.lent)
    }
    expect(lent).toEqual([true, false, false])
    expect(Buffer.concat(port.client)).toEqual(renamed(frame))
  })

  it('whole: renamed around the frame’s own pieces', () => {
    const r = renamer()
    const o = observer()
    const { port, exchange } = setup([o, r])
    exchange.onRequest(Frame.of(fetchRequest(6)))
    const frame = answer(6)
    exchange.onResponse(Frame.fromPieces(split(frame, prng(2), 9), frame.length))
    expect(Buffer.concat(port.client)).toEqual(renamed(frame))
    expect(r.responses).toBe(0)
    expect(o.seen).toEqual([['orders', 'audit']])
  })

  it('the ordinary way when a filter declines, or an observer sits nearer the broker than the renamer', () => {
    for (const filters of [[renamer(false)], [renamer(), observer()]]) {
      const { port, exchange } = setup(filters)
      exchange.onRequest(Frame.of(fetchRequest(7)))
      const frame = answer(7)
      expect(exchange.beginResponseStream(frame.subarray(0, 8), frame.length)).toBe(false)
      exchange.onResponse(Frame.of(frame))
      expect(Buffer.concat(port.client)).toEqual(frame)
      expect((filters[0] as { responses: number }).responses).toBe(1)
    }
  })

  it('a response that ends before its names do closes the connection; the client gets none of it', () => {
    const { port, exchange } = setup([renamer()])
    exchange.onRequest(Frame.of(fetchRequest(8)))
    const frame = Buffer.from(answer(8).subarray(0, 40))
    frame.writeInt32BE(36, 0)
    expect(exchange.beginResponseStream(frame.subarray(0, 8), frame.length)).toBe(true)
    exchange.responsePiece(frame.subarray(0, 20), false)
    exchange.responsePiece(frame.subarray(20), true)
    expect(port.client).toEqual([])
    expect(port.closedFor).toMatch(/broker protocol error/)
  })
})

describe('Exchange: a request whose only change is renaming its topics (Filter.renameRequestTopics)', () => {
  const VERSION = 7
  const toReal = (n: string) => (n === 'orders' ? 'orders-canary' : n)
  const produce = (correlationId: number, topics = ['orders', 'audit'], version = VERSION, acks = -1) => {
    const frame = produceFrameOf(version, { ...produceRequest(version, topics, 4), acks })
    frame.writeInt32BE(correlationId, 8)
    return frame
  }
  const renamed = (frame: Buffer, version = VERSION) =>
    Buffer.concat(renameTopics([frame], frame.length, version, toReal, ApiKey.Produce))

  function renamer(offer = true): Filter & { requests: number; responses: number; asked: RequestToRename[] } {
    const f = {
      requests: 0,
      responses: 0,
      asked: [] as RequestToRename[],
      records: 'summary' as const,
      wantsRequest: (k: number) => k === ApiKey.Produce,
      wantsResponse: (k: number) => k === ApiKey.Produce,
      onRequest: () => {
        f.requests++
        return undefined
      },
      onResponse: () => {
        f.responses++
        return undefined
      },
      renameRequestTopics: (req: RequestToRename) => {
        f.asked.push(req)
        return offer ? toReal : undefined
      },
    }
    return f
  }
  function observer(): Filter & { seen: string[][] } {
    const o = {
      seen: [] as string[][],
      observesOnly: true,
      records: 'summary' as const,
      wantsRequest: (k: number) => k === ApiKey.Produce,
      onRequest: (req: DecodedRequest) => {
        o.seen.push((req.body as ProduceRequest).topicData.map((t) => t.name!))
        return undefined
      },
    }
    return o
  }
  const streamIn = (exchange: Exchange, pieces: Buffer[]) => {
    for (const [i, p] of pieces.entries()) exchange.requestPiece(p, i === pieces.length - 1)
  }

  it('streamed: renamed on the way, in pieces, onRequest not called; observers nearer the client see the client’s names', () => {
    const r = renamer()
    const o = observer()
    const { port, exchange } = setup([o, r])
    const frame = produce(5)
    expect(exchange.beginRequestStream(frame.subarray(0, 512), frame.length)).toBe(true)
    streamIn(exchange, split(frame, prng(1), 20))
    expect(Buffer.concat(port.upstream)).toEqual(renamed(frame))
    expect(port.upstream.length).toBeGreaterThan(3)
    expect(r.requests).toBe(0)
    expect(r.asked).toEqual([{ apiKey: ApiKey.Produce, apiVersion: VERSION, correlationId: 5, expectsResponse: true }])
    expect(o.seen).toEqual([['orders', 'audit']])
    expect(port.closedFor).toBeUndefined()
    // The response still goes to the renamer's onResponse (to be mapped back), answered in order.
    const answer = encodeResponse(ApiKey.Produce, VERSION, { correlationId: 5 }, {
      responses: [],
      throttleTimeMs: 0,
    } satisfies ProduceResponse)
    exchange.onResponse(Frame.of(answer))
    expect(r.responses).toBe(1)
    expect(port.client).toEqual([answer])
  })

  it('pieces held until the renamed size is known keep their read buffer (the lease is lent), later ones do not', () => {
    const lease = newLease()
    const { port, exchange } = setup([renamer()], newLease(), lease)
    const frame = produce(4, ['orders'])
    // The name ends 2 + 6 bytes after the topic count: v7 header (14 + client id), null txn id, acks, timeout, count.
    const nameEnd = 14 + 'canary-app'.length + 2 + 6 + 4 + 2 + 'orders'.length
    expect(exchange.beginRequestStream(frame.subarray(0, 512), frame.length)).toBe(true)
    const lent: boolean[] = []
    for (const [piece, done] of [
      [frame.subarray(0, nameEnd - 3), false],
      [frame.subarray(nameEnd - 3, nameEnd + 40), false],
      [frame.subarray(nameEnd + 40), true],
    ] as const) {
      handleTransient(lease, () => exchange.requestPiece(Buffer.from(piece), done))
      lent.push(lease.lent)
    }
    expect(lent).toEqual([true, false, false])
    expect(Buffer.concat(port.upstream)).toEqual(renamed(frame))
  })

  it('a renamer that reads records itself does not make the observers hold the reads: they get summaries as it passes', () => {
    // Topic-rewrite declares no `records: 'summary'` (on the ordinary way it encodes the request again); here it only
    // renames, so the statistics-like observer decides, and a large piece is not kept (the lease is not lent).
    const r: Filter = { ...renamer(), records: undefined }
    const o = observer()
    const lease = newLease()
    const { port, exchange } = setup([o, r], newLease(), lease)
    const big = encodeRecordBatch(
      Array.from({ length: 300 }, (_, i) => ({ key: null, value: Buffer.alloc(300, 97 + (i % 26)) })),
      { compression: CompressionType.None, baseOffset: 0n, timestamp: 1_700_000_000_000n },
    )
    const body: ProduceRequest = {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30_000,
      topicData: [{ name: 'orders', partitionData: [{ index: 0, records: big }] }],
    }
    const frame = produceFrameOf(VERSION, body)
    frame.writeInt32BE(21, 8)
    const cut = 70_000
    expect(frame.length).toBeGreaterThan(cut + 1000)
    // As the connection does it: the stream begins inside the read that brought its first bytes.
    const lent: boolean[] = []
    handleTransient(lease, () => {
      expect(exchange.beginRequestStream(frame.subarray(0, 512), frame.length)).toBe(true)
      exchange.requestPiece(frame.subarray(0, cut), false)
    })
    lent.push(lease.lent)
    handleTransient(lease, () => exchange.requestPiece(frame.subarray(cut), true))
    lent.push(lease.lent)
    expect(lent).toEqual([false, false])
    expect(Buffer.concat(port.upstream)).toEqual(renamed(frame))
    expect(o.seen).toEqual([['orders']])
  })

  it('the head of a request of several topics, held until its last topic’s name, counts in the held bytes', () => {
    const { port, exchange } = setup([renamer()])
    const frame = produce(12, ['audit', 'orders'])
    // Cut inside the second topic's name, after the first topic's records.
    const cut = frame.indexOf('orders') + 3
    expect(cut).toBeGreaterThan(1000)
    expect(exchange.beginRequestStream(frame.subarray(0, 512), frame.length)).toBe(true)
    exchange.requestPiece(Buffer.from(frame.subarray(0, cut)), false)
    expect(exchange.heldBytes()).toBe(cut)
    expect(port.upstream).toEqual([])
    exchange.requestPiece(Buffer.from(frame.subarray(cut)), true)
    expect(exchange.heldBytes()).toBe(0)
    expect(Buffer.concat(port.upstream)).toEqual(renamed(frame))
  })

  it('whole: renamed around the frame’s own pieces; the observers see the client’s names', () => {
    const r = renamer()
    const o = observer()
    const { port, exchange } = setup([o, r])
    const frame = produce(6)
    exchange.onRequest(Frame.fromPieces(split(frame, prng(2), 9), frame.length))
    expect(Buffer.concat(port.upstream)).toEqual(renamed(frame))
    expect(r.requests).toBe(0)
    expect(o.seen).toEqual([['orders', 'audit']])
  })

  it('every name-based version is renamed (v3-v12); v13 names topics by id and is not asked', () => {
    for (let v = 3; v <= 12; v++) {
      const r = renamer()
      const { port, exchange } = setup([r])
      const frame = produce(9, ['orders', 'audit'], v)
      expect(exchange.beginRequestStream(frame.subarray(0, 512), frame.length)).toBe(true)
      streamIn(exchange, split(frame, prng(v), 15))
      expect(Buffer.concat(port.upstream)).toEqual(renamed(frame, v))
      const body = decodeRequest(Buffer.concat(port.upstream), 4).body as ProduceRequest
      expect(body.topicData.map((t) => t.name)).toEqual(['orders-canary', 'audit'])
    }
    const r = renamer()
    const { exchange } = setup([r])
    const v13 = encodeRequest(
      { requestApiKey: ApiKey.Produce, requestApiVersion: 13, correlationId: 3, clientId: 'app' },
      {
        ...produceRequest(13, []),
        topicData: [{ topicId: 'AAAAAAAAAAAAAAAAAAAABw', partitionData: [] }],
      },
    )
    expect(exchange.beginRequestStream(v13.subarray(0, 512), v13.length)).toBe(false)
    exchange.onRequest(Frame.of(v13))
    expect(r.asked).toEqual([])
    expect(r.requests).toBe(1)
  })

  it('tells the filter an acks=0 request gets no response', () => {
    const r = renamer()
    const { port, exchange } = setup([r])
    const frame = produce(11, ['orders'], VERSION, 0)
    exchange.onRequest(Frame.of(frame))
    expect(r.asked[0]!.expectsResponse).toBe(false)
    expect(Buffer.concat(port.upstream)).toEqual(renamed(frame))
    expect(exchange.inflight).toBe(0)
  })

  it('the ordinary way when a filter declines, or an observer sits nearer the broker than the renamer', () => {
    for (const filters of [[renamer(false)], [renamer(), observer()]]) {
      const { port, exchange } = setup(filters)
      const frame = produce(7)
      expect(exchange.beginRequestStream(frame.subarray(0, 512), frame.length)).toBe(false)
      exchange.onRequest(Frame.of(frame))
      expect(Buffer.concat(port.upstream)).toEqual(frame)
      expect((filters[0] as { requests: number }).requests).toBe(1)
      if (filters.length === 2) expect((filters[1] as { seen: string[][] }).seen).toEqual([['orders', 'audit']])
    }
  })

  it('a request that ends before its names do closes the connection; the broker gets none of it', () => {
    for (const whole of [false, true]) {
      const { port, exchange } = setup([renamer()])
      const frame = Buffer.from(produce(8).subarray(0, 40))
      frame.writeInt32BE(36, 0)
      if (whole) exchange.onRequest(Frame.of(frame))
      else {
        expect(exchange.beginRequestStream(frame.subarray(0, 30), frame.length)).toBe(true)
        exchange.requestPiece(frame.subarray(0, 20), false)
        exchange.requestPiece(frame.subarray(20), true)
      }
      expect(port.upstream).toEqual([])
      expect(port.closedFor).toMatch(/client protocol error/)
    }
  })
})
