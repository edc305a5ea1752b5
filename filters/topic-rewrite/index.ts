import type {
  ConfiguredFilter,
  ConnectionView,
  DecodedRequest,
  DecodedResponse,
  Filter,
  FilterContext,
  FilterCounter,
  FilterPlugin,
  FilterSetupContext,
  MaybePromise,
  RequestTopicRename,
  RequestToRename,
  RequestVerdict,
  ResponseToRename,
  ResponseVerdict,
  TopicRename,
} from '../../src/pipeline/filter-api.js'
import { parseTopicRewriteConfig, type TopicRewriteConfig } from './config.js'
import { TopicList } from './metadata-view.js'
import { RewriteConnection, type RewriteShared } from './rewrite-connection.js'
import { compileRules, type Rule, ruleFor } from './rules.js'
import { ShadowConnection } from './shadow-connection.js'
import { ShadowProducer } from './shadow-produce.js'

/**
 * topic-rewrite: canary releases without a second deployment of the application's configuration. Rules choose
 * clients (by client id, mTLS principal, or a stable share of client ids) and map topic names, and optionally group
 * ids and transactional ids, both ways: a canary client that says `orders` reads and writes `orders-canary` and only
 * ever sees `orders` (rewrite mode); or its records produced to `orders` are copied to `orders-canary` by the
 * sidecar's own producer while the client is left alone (shadow mode).
 *
 * Modules: config.ts (validation), client-selector.ts (who is a canary, the stable hash), name-mapper.ts (names both
 * ways), carrier-walker.ts (every field that carries a name, from the generated schema), consumer-protocol.ts and
 * group-protocols.ts (the classic consumer protocol's bytes), coordinator-keys.ts (FindCoordinator),
 * regex-subscription.ts (KIP-848 regex subscriptions), metadata-view.ts (the cluster in the client's names),
 * rewrite-connection.ts and shadow-connection.ts (one connection of each mode), shadow-produce.ts (the bounded copy
 * queue).
 *
 * A connection's side is chosen once, when its first request has shown the client id, and kept for the connection's
 * life; a hot reload applies new rules to new connections only (README "Filters").
 */

export type { TopicRewriteConfig } from './config.js'

function parseConfig(raw: unknown): TopicRewriteConfig {
  const config = parseTopicRewriteConfig(raw)
  compileRules(config) // refuses regex rules without a way back now, not at the first connection
  return config
}

class TopicRewrite implements ConfiguredFilter {
  readonly name = 'topic-rewrite'
  readonly rules: readonly Rule[]
  readonly shadow: ShadowProducer | undefined
  readonly shared: RewriteShared
  readonly hasShadowRules: boolean
  private readonly connections: FilterCounter
  private readonly shadowLookups: FilterCounter
  private readonly reported = new Set<string>()
  /** One connection object per rule, asked what it wants while a connection's rule is not known yet. */
  private readonly probes: readonly (RewriteConnection | ShadowConnection)[]

  constructor(
    readonly config: TopicRewriteConfig,
    readonly setup: FilterSetupContext,
    previous: ConfiguredFilter | undefined,
  ) {
    this.rules = compileRules(config)
    this.hasShadowRules = this.rules.some((r) => r.mode === 'shadow')
    const before = previous instanceof TopicRewrite ? previous : undefined
    // Copies already queued survive a reload: the new configuration takes over the same queue.
    const shadow = this.hasShadowRules
      ? (before?.shadow ?? new ShadowProducer(config.shadow, setup.upstream, setup.metrics, setup.log, setup.clock))
      : undefined
    shadow?.reconfigure(config.shadow)
    this.shadow = shadow
    this.connections = setup.metrics.counter(
      'connections_total',
      'Client connections by the rule that selected them (side rewrite or shadow), or side unchanged',
      ['rule', 'side'],
    )
    this.shadowLookups = setup.metrics.counter(
      'shadow_lookup_failures_total',
      'Produce v13 requests whose topic ids could not be named, so their records were not copied',
    )
    const once = (key: string, log: () => void) => this.once(key, log)
    this.shared = {
      log: setup.log,
      topicList: new TopicList(setup.clock, config.regexRefreshMs),
      rewritten: setup.metrics.counter(
        'rewritten_messages_total',
        'Messages whose names were mapped (requests to the broker, responses to the client)',
        ['rule', 'api', 'direction'],
      ),
      undecodable: setup.metrics.counter(
        'undecodable_consumer_protocol_total',
        'Consumer protocol subscriptions or assignments that could not be read and passed unmapped',
        ['rule', 'what'],
      ),
      once,
    }
    this.probes = this.rules.map((r) =>
      r.mode === 'rewrite' ? new RewriteConnection(r, this.shared) : new ShadowConnection(r, this.shadow!, () => {}),
    )
  }

  forConnection(connection: ConnectionView): Filter {
    return new TopicRewriteFilter(this, connection)
  }

  /** Which side a connection is on, once its client id is known. */
  choose(connection: ConnectionView): RewriteConnection | ShadowConnection | undefined {
    const rule = ruleFor(this.rules, connection.clientId, connection.principal)
    this.connections.inc({ rule: rule?.name ?? '', side: rule?.mode ?? 'unchanged' })
    if (rule === undefined) return undefined
    if (rule.mode === 'rewrite') return new RewriteConnection(rule, this.shared)
    return new ShadowConnection(rule, this.shadow!, (err) => {
      this.shadowLookups.inc()
      this.once('shadow-lookup', () =>
        this.setup.log.warn(
          { err: (err as Error).message },
          'shadow produce: topic ids of a Produce request could not be named; its records are not copied',
        ),
      )
    })
  }

  /** Whether any rule could want this message decoded (for the first request, before the client id is known). */
  mightWant(direction: 'request' | 'response', apiKey: number, apiVersion: number): boolean {
    return this.probes.some((p) =>
      direction === 'request' ? p.wantsRequest(apiKey, apiVersion) : p.wantsResponse(apiKey, apiVersion),
    )
  }

  async close(): Promise<void> {
    // Connections opened before a reload keep this instance; the queue itself lives on in the new one.
    await this.shadow?.drain(5_000)
  }

  private once(key: string, log: () => void): void {
    if (this.reported.has(key)) return
    if (this.reported.size < 10_000) this.reported.add(key)
    log()
  }
}

/**
 * The filter of one connection: undecided until the client's first request has been read (the runtime asks which
 * messages a filter wants before it reads the client id of the very first request), then the connection of its rule's
 * mode, or nothing at all for a client no rule selects, which then costs no decoding.
 */
class TopicRewriteFilter implements Filter {
  private started = false
  private decided = false
  private side: RewriteConnection | ShadowConnection | undefined

  constructor(
    private readonly owner: TopicRewrite,
    private readonly connection: ConnectionView,
  ) {}

  /** A shadow connection only observes: the client's messages are never held or changed. */
  get observesOnly(): boolean {
    return this.current() instanceof ShadowConnection
  }

  /** Rewriting never reads records; shadow copies do. */
  get records(): 'bytes' | 'summary' {
    if (!this.owner.hasShadowRules) return 'summary'
    const side = this.current()
    return side === undefined && this.decided ? 'summary' : side instanceof RewriteConnection ? 'summary' : 'bytes'
  }

  onRequestBytes(): undefined {
    this.started = true
    return undefined
  }

  wantsRequest(apiKey: number, apiVersion: number): boolean {
    if (!this.started) return this.owner.mightWant('request', apiKey, apiVersion)
    return this.current()?.wantsRequest(apiKey, apiVersion) === true
  }

  wantsResponse(apiKey: number, apiVersion: number): boolean {
    if (!this.started) return this.owner.mightWant('response', apiKey, apiVersion)
    return this.current()?.wantsResponse(apiKey, apiVersion) === true
  }

  onRequest(req: DecodedRequest, ctx: FilterContext): MaybePromise<RequestVerdict | undefined> {
    this.started = true
    const side = this.current()
    if (side === undefined) return undefined
    if (side instanceof ShadowConnection) return side.onRequest(req, ctx) as Promise<undefined> | undefined
    return side.onRequest(req, ctx)
  }

  onResponse(res: DecodedResponse): MaybePromise<ResponseVerdict | undefined> {
    const side = this.current()
    if (side === undefined) return undefined
    if (side instanceof ShadowConnection) return side.onResponse(res) as Promise<undefined> | undefined
    return side.onResponse(res)
  }

  /** A canary's Produce requests by name are renamed as they stream (RewriteConnection.renameRequestTopics). */
  renameRequestTopics(req: RequestToRename): RequestTopicRename | undefined {
    const side = this.current()
    return side instanceof RewriteConnection ? side.renameRequestTopics(req) : undefined
  }

  /** A canary's Fetch responses by name are renamed as they stream (RewriteConnection.renameResponseTopics). */
  renameResponseTopics(res: ResponseToRename): TopicRename | undefined {
    const side = this.current()
    return side instanceof RewriteConnection ? side.renameResponseTopics(res) : undefined
  }

  private current(): RewriteConnection | ShadowConnection | undefined {
    if (!this.decided && this.started) {
      this.decided = true
      this.side = this.owner.choose(this.connection)
    }
    return this.side
  }
}

export const topicRewritePlugin: FilterPlugin<TopicRewriteConfig> = {
  name: 'topic-rewrite',
  parseConfig,
  configure: (config, setup, previous) => new TopicRewrite(config, setup, previous),
}
