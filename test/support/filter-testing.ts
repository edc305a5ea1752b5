/**
 * Filter test support: what a filter's unit test needs instead of sockets and brokers, in the spirit of
 * Kroxylicious' filter-test-support (a mock FilterContext and message builders). A test builds a filter from its
 * plugin with `setupContext()`, gives it a `fakeContext()` per connection, scripts the broker's answers to the
 * filter's own requests with `context.upstream`, moves time with `FakeClock`, and builds messages of any API and
 * version with `request()`/`response()`.
 */
import pino, { type Logger } from 'pino'
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../codec/messages/frames.js'
import { API_DEFINITIONS, type RequestByApiKey, type ResponseByApiKey } from '../../codec/messages/generated/apis.js'
import { type DeepPartial, defaultRequest, defaultResponse } from '../../codec/messages/message-defaults.js'
import type {
  ApiKeyNumber,
  AuditEntry,
  AuditService,
  BrokerEndpoint,
  BrokerEndpointService,
  ClientSoftware,
  Clock,
  ConnectionInfo,
  ConnectionView,
  DecodedRequest,
  DecodedResponse,
  FilterContext,
  FilterCounter,
  FilterGauge,
  FilterMetrics,
  FilterSetupContext,
  SendRequestOptions,
  SentResponse,
  StatisticsService,
  TopicId,
  UpstreamClientService,
} from '../../src/pipeline/filter-api.js'

/** Time that moves only when the test says so; timers fire in order as it passes them. */
export class FakeClock implements Clock {
  private wall: number
  private mono = 0
  private readonly timers: { at: number; fn: () => void; id: number }[] = []
  private nextId = 1

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.wall = start
  }

  now(): number {
    return this.wall
  }

  monotonic(): number {
    return this.mono
  }

  setTimer(ms: number, fn: () => void): () => void {
    const id = this.nextId++
    this.timers.push({ at: this.mono + ms, fn, id })
    this.timers.sort((a, b) => a.at - b.at || a.id - b.id)
    return () => {
      const i = this.timers.findIndex((t) => t.id === id)
      if (i >= 0) this.timers.splice(i, 1)
    }
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.mono + ms
    for (let t = this.timers[0]; t !== undefined && t.at <= end; t = this.timers[0]) {
      this.timers.shift()
      this.wall += t.at - this.mono
      this.mono = t.at
      t.fn()
    }
    this.wall += end - this.mono
    this.mono = end
  }

  get pendingTimers(): number {
    return this.timers.length
  }
}

/** A request a filter sent through its context, as the scripted upstream saw it. */
export interface SentRequest {
  readonly apiKey: number
  readonly apiVersion: number
  readonly body: unknown
  readonly options: SendRequestOptions | undefined
}

type Answer = (req: SentRequest) => unknown | Promise<unknown>

/**
 * The broker as a filter's own requests see it: answers scripted per API key (a body, or a function of the
 * request), every request recorded. An unscripted API rejects, so a test notices a request it did not expect.
 */
export class ScriptedUpstream {
  readonly sent: SentRequest[] = []
  private readonly answers = new Map<number, Answer[]>()
  private readonly standing = new Map<number, Answer>()

  /** Answers the next request of this API with `answer` (queued: one answer per request, in order). */
  answerOnce<K extends ApiKeyNumber>(apiKey: K, answer: ResponseByApiKey[K] | ((req: SentRequest) => unknown)): this {
    const list = this.answers.get(apiKey) ?? []
    list.push(typeof answer === 'function' ? (answer as Answer) : () => answer)
    this.answers.set(apiKey, list)
    return this
  }

  /** Answers every request of this API (after any queued answers are used up). */
  answerAlways<K extends ApiKeyNumber>(apiKey: K, answer: ResponseByApiKey[K] | ((req: SentRequest) => unknown)): this {
    this.standing.set(apiKey, typeof answer === 'function' ? (answer as Answer) : () => answer)
    return this
  }

  async send(req: SentRequest): Promise<unknown> {
    this.sent.push(req)
    const queued = this.answers.get(req.apiKey)
    const answer = queued?.shift() ?? this.standing.get(req.apiKey)
    if (answer === undefined) throw new Error(`no scripted answer for api key ${req.apiKey} v${req.apiVersion}`)
    return answer(req)
  }
}

export interface FakeContextOptions {
  readonly connectionId?: number
  readonly clientId?: string | null
  readonly principal?: string
  readonly tls?: boolean
  readonly listener?: ConnectionInfo['listener']
  readonly peer?: ConnectionInfo['peer']
  readonly clientSoftware?: ClientSoftware
  readonly clock?: FakeClock
  readonly upstream?: ScriptedUpstream
  readonly topics?: ReadonlyMap<TopicId, string>
  readonly log?: Logger
}

/** A FilterContext with no sockets behind it; what the filter did through it is recorded for assertions. */
export interface FakeContext extends FilterContext {
  clientId: string | null
  clientSoftware: ClientSoftware | undefined
  readonly clock: FakeClock
  readonly upstream: ScriptedUpstream
  /** Every muteClient call, in order (ms). */
  readonly mutes: number[]
  /** How many times the filter said its wants changed (wantsChanged). */
  readonly wantsChanges: number
  /** Local endpoints handed out by brokers.localEndpointFor. */
  readonly endpoints: { nodeId: number; upstream: { host: string; port: number }; kind: string }[]
}

export function fakeContext(options: FakeContextOptions = {}): FakeContext {
  const clock = options.clock ?? new FakeClock()
  const upstream = options.upstream ?? new ScriptedUpstream()
  const topics = new Map(options.topics ?? [])
  const mutes: number[] = []
  const endpoints: FakeContext['endpoints'] = []
  const brokers: BrokerEndpointService = {
    localEndpointFor(nodeId, up, kind): BrokerEndpoint {
      endpoints.push({ nodeId, upstream: { host: up.host, port: up.port }, kind })
      return { host: '127.0.0.1', port: 9093 + nodeId }
    },
  }
  const ctx: FakeContext = {
    connectionId: options.connectionId ?? 1,
    peer: options.peer ?? { address: '127.0.0.1', port: 50000 },
    listener: options.listener ?? { kind: 'bootstrap', port: 9092 },
    principal: options.principal,
    tls: options.tls ?? options.principal !== undefined,
    clientId: options.clientId === undefined ? 'test-client' : options.clientId,
    clientSoftware: options.clientSoftware,
    openedAt: clock.now(),
    get connection(): ConnectionView {
      return ctx
    },
    log: options.log ?? pino({ level: 'silent' }),
    brokers,
    clock,
    upstream,
    mutes,
    endpoints,
    async sendRequest<K extends ApiKeyNumber>(
      apiKey: K,
      apiVersion: number,
      body: RequestByApiKey[K],
      opts?: SendRequestOptions,
    ): Promise<SentResponse<K>> {
      const answer = await upstream.send({ apiKey, apiVersion, body, options: opts })
      return { apiKey, apiVersion, body: answer as ResponseByApiKey[K] }
    },
    apiVersion(apiKey) {
      return API_DEFINITIONS[apiKey]?.request.maxVersion
    },
    async topicNames(ids) {
      return new Map(ids.map((id) => [id, topics.get(id)]))
    },
    async topicIds(names) {
      const byName = new Map([...topics].map(([id, name]) => [name, id]))
      return new Map(names.map((n) => [n, byName.get(n)]))
    },
    muteClient(ms) {
      mutes.push(ms)
    },
    wantsChanges: 0,
    wantsChanged() {
      ;(this as { wantsChanges: number }).wantsChanges++
    },
  }
  return ctx
}

/** Metrics a filter registered and what it counted, readable in tests: `values.get('name{label="v"}')`. */
export class FakeMetrics implements FilterMetrics {
  readonly values = new Map<string, number>()

  counter(name: string): FilterCounter {
    return { inc: (labels, value = 1) => this.add(name, labels, value) }
  }

  gauge(name: string): FilterGauge {
    return {
      set: (labels, value) => this.values.set(seriesKey(name, labels), value),
      inc: (labels, value = 1) => this.add(name, labels, value),
      dec: (labels, value = 1) => this.add(name, labels, -value),
    }
  }

  private add(name: string, labels: Readonly<Record<string, string>> | undefined, value: number): void {
    const k = seriesKey(name, labels)
    this.values.set(k, (this.values.get(k) ?? 0) + value)
  }
}

function seriesKey(name: string, labels: Readonly<Record<string, string>> | undefined): string {
  if (labels === undefined || Object.keys(labels).length === 0) return name
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`)
  return `${name}{${parts.join(',')}}`
}

/** Records what the stats filter (or any filter) reports to the statistics. */
export class RecordingStatistics implements StatisticsService {
  readonly calls: { method: string; args: unknown[] }[] = []
  private readonly ids = new Map<string, string>()
  private record(method: string, args: unknown[]): void {
    this.calls.push({ method, args })
  }
  topicIdSeen(topicId: string, name: string): void {
    this.ids.set(topicId, name)
    this.record('topicIdSeen', [topicId, name])
  }
  topicName(topicId: string): string | undefined {
    return this.ids.get(topicId)
  }
  produced(...args: [ConnectionView, string, number, number]): void {
    this.record('produced', args)
  }
  fetched(...args: [ConnectionView, string, number, number]): void {
    this.record('fetched', args)
  }
  logEndOffset(...args: [string, number, number]): void {
    this.record('logEndOffset', args)
  }
  committed(...args: [ConnectionView | undefined, string, string, number, number]): void {
    this.record('committed', args)
  }
  throttled(...args: [ConnectionView, number, number]): void {
    this.record('throttled', args)
  }
  kafkaError(...args: [ConnectionView, number, number]): void {
    this.record('kafkaError', args)
  }
  memberSeen(...args: [ConnectionView, string, string, number | undefined]): void {
    this.record('memberSeen', args)
  }
  memberLeft(...args: [string, string]): void {
    this.record('memberLeft', args)
  }
  failed(err: unknown): void {
    this.record('failed', [err])
  }
}

export interface SetupOptions {
  readonly clock?: FakeClock
  readonly metrics?: FakeMetrics
  readonly configDir?: string
  readonly upstream?: UpstreamClientService
  readonly statistics?: StatisticsService
  readonly audit?: AuditService | AuditEntry[]
  readonly log?: Logger
}

/** The services a plugin's configure() gets, all fakes. */
export function setupContext(options: SetupOptions = {}): FilterSetupContext & {
  readonly clock: FakeClock
  readonly metrics: FakeMetrics
} {
  const audit = Array.isArray(options.audit)
    ? { write: (e: AuditEntry) => void (options.audit as AuditEntry[]).push(e) }
    : options.audit
  return {
    log: options.log ?? pino({ level: 'silent' }),
    metrics: options.metrics ?? new FakeMetrics(),
    clock: options.clock ?? new FakeClock(),
    configDir: options.configDir ?? process.cwd(),
    upstream: options.upstream,
    statistics: options.statistics,
    audit,
  }
}

/**
 * A request as a filter receives it, of any API and version: `fields` over the schema's defaults for that version
 * (defaultRequest), encoded and decoded again (so the body is exactly what the codec makes of it on the wire), with
 * `size` its frame size.
 */
export function request<K extends ApiKeyNumber>(
  apiKey: K,
  apiVersion: number,
  fields?: DeepPartial<RequestByApiKey[K]>,
  clientId: string | null = 'test-client',
): DecodedRequest<K> {
  const body = defaultRequest(apiKey, apiVersion, fields)
  const header = { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId: 1, clientId }
  const frame = encodeRequest(header, body)
  const d = decodeRequest(frame, 4)
  return { apiKey, apiVersion, header: d.header, size: frame.length, body: d.body as RequestByApiKey[K] }
}

/** A response as a filter receives it (see request), answering `req` when given. */
export function response<K extends ApiKeyNumber>(
  apiKey: K,
  apiVersion: number,
  fields?: DeepPartial<ResponseByApiKey[K]>,
  req?: DecodedRequest<K>,
): DecodedResponse<K> {
  const body = defaultResponse(apiKey, apiVersion, fields)
  const frame = encodeResponse(apiKey, apiVersion, { correlationId: 1 }, body)
  const d = decodeResponse(frame, apiKey, apiVersion, 4)
  return { apiKey, apiVersion, header: d.header, size: frame.length, request: req, body: d.body as ResponseByApiKey[K] }
}
