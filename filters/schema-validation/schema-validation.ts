import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { ProduceRequest } from '../../codec/messages/generated/produce-request.js'
import {
  ApiKey,
  type ConfiguredFilter,
  type DecodedRequest,
  type Filter,
  type FilterContext,
  type FilterSetupContext,
  type MaybePromise,
  type NamedProduceTopic,
  type PartitionRejection,
  produceTopics,
  type RequestVerdict,
  rejectPartitions,
} from '../../src/pipeline/filter-api.js'
import type { PartRule, RegistryConfig, Rule, SchemaValidationConfig } from './config.js'
import { LocalSchemas } from './local-schemas.js'
import { SchemaValidationMetrics } from './metrics.js'
import { type CheckEnvironment, checkPartition, type PartitionCheck } from './record-check.js'
import { RegistryHttp } from './registry-client.js'
import { rejectionFor } from './rejection.js'
import { type RegistryHealth, type SchemaLookup, SchemaRegistryCache } from './schema-registry.js'
import { TopicRules } from './topic-rules.js'

type TopicData = ProduceRequest['topicData'][number]
type PartitionData = TopicData['partitionData'][number]

interface Target {
  readonly topicKey: string
  readonly topic: string
  readonly rule: Rule
  readonly partition: PartitionData
}

/** Keys the first-rejection log remembers; past this, it stops adding (and so stops logging new ones). */
const ONCE_LIMIT = 10_000

/** The registry part of one configuration: its HTTP client and its cache, handed on across hot reloads when unchanged. */
interface RegistryHandle {
  readonly key: string
  readonly http: RegistryHttp
  readonly cache: SchemaRegistryCache
}

/** ConfiguredFilter.health: `ready` false while the registry is down and a rule that reads it fails closed. */
export interface SchemaValidationHealth {
  readonly ready: boolean
  readonly detail: string
}

/**
 * The configured filter: rules, the registry client and cache, the local schema files, metrics; one `Filter` per
 * connection that checks Produce requests. A Produce request is held until its partitions are checked; partitions
 * that fail are answered (rejectPartitions) and the rest go to the broker as the client sent them. When every
 * partition passes the request is forwarded untouched (no re-encoding).
 */
export class SchemaValidation implements ConfiguredFilter {
  readonly name = 'schema-validation'
  private readonly rules: TopicRules
  private readonly local: LocalSchemas | undefined
  private registry: RegistryHandle | undefined
  private readonly metrics: SchemaValidationMetrics
  private readonly reported = new Set<string>()
  private handedOver = false

  constructor(
    readonly config: SchemaValidationConfig,
    private readonly setup: FilterSetupContext,
    previous?: ConfiguredFilter,
  ) {
    this.metrics = new SchemaValidationMetrics(setup.metrics)
    this.rules = new TopicRules(config.rules)
    const fileParts: PartRule[] = []
    for (const rule of config.rules) {
      for (const part of [rule.key, rule.value]) if (part?.source.kind === 'file') fileParts.push(part)
    }
    this.local = fileParts.length === 0 ? undefined : new LocalSchemas(fileParts, setup.configDir, setup.log)
    if (config.registry !== undefined) {
      const key = JSON.stringify(config.registry)
      const before = previous instanceof SchemaValidation ? previous.registry : undefined
      if (before !== undefined && before.key === key) {
        // Same registry settings: keep its connections and everything it has learnt.
        this.registry = before
        ;(previous as SchemaValidation).handedOver = true
      } else {
        this.registry = this.openRegistry(config.registry, key)
        if (before !== undefined) this.registry.cache.adopt(before.cache)
      }
    }
    this.local?.watch()
  }

  forConnection(): Filter {
    return {
      records: 'bytes',
      wantsRequest: (apiKey) => apiKey === ApiKey.Produce,
      onRequest: (req, ctx) => this.onProduce(req as DecodedRequest<typeof ApiKey.Produce>, ctx),
    }
  }

  /**
   * For /readyz: whether the registry answers. Not ready only while it is down and some rule that reads it fails
   * closed (its producers are held back); with fail-open rules only, the detail still says so.
   */
  health(): SchemaValidationHealth {
    const h: RegistryHealth = this.registry?.cache.health() ?? { up: true }
    if (h.up)
      return {
        ready: true,
        detail: this.registry === undefined ? 'no registry configured' : 'schema registry reachable',
      }
    const holds = this.config.rules.some(
      (r) =>
        r.onRegistryDown === 'fail-closed' &&
        (r.key?.source.kind === 'registry' || r.value?.source.kind === 'registry'),
    )
    return {
      ready: !holds,
      detail: `schema registry unreachable since ${new Date(h.since ?? 0).toISOString()}: ${h.reason ?? 'unknown'}${holds ? '' : ' (every rule fails open: records pass unchecked)'}`,
    }
  }

  async close(): Promise<void> {
    this.local?.close()
    if (!this.handedOver) this.registry?.http.close()
  }

  private openRegistry(config: RegistryConfig, key: string): RegistryHandle {
    const dir = this.setup.configDir
    const secret = (value: string | undefined, file: string | undefined): string =>
      value ?? readFileSync(resolve(dir, file!), 'utf8').trim()
    const auth = config.auth
    const authorization =
      auth === undefined
        ? undefined
        : auth.kind === 'basic'
          ? `Basic ${Buffer.from(`${auth.username}:${secret(auth.password, auth.passwordFile)}`).toString('base64')}`
          : `Bearer ${secret(auth.token, auth.tokenFile)}`
    const http = new RegistryHttp({
      url: config.url,
      authorization,
      ca: config.ca === undefined ? undefined : readFileSync(resolve(dir, config.ca), 'utf8'),
      insecureSkipVerify: config.insecureSkipVerify,
      timeoutMs: config.timeoutMs,
    })
    const cache = new SchemaRegistryCache(
      http,
      this.setup.clock,
      {
        maxSchemas: config.cacheMaxSchemas,
        ttlMs: config.cacheTtlMs,
        unknownIdTtlMs: config.unknownIdTtlMs,
        retryBackoffMs: config.retryBackoffMs,
      },
      this.metrics,
    )
    return { key, http, cache }
  }

  private onProduce(
    req: DecodedRequest<typeof ApiKey.Produce>,
    ctx: FilterContext,
  ): MaybePromise<RequestVerdict | undefined> {
    const acks = (req.body as ProduceRequest).acks
    const topics = produceTopics(req, ctx)
    if (topics instanceof Promise) return topics.then((t) => this.judge(t, acks, ctx))
    return this.judge(topics, acks, ctx)
  }

  private judge(
    topics: readonly NamedProduceTopic[],
    acks: number,
    ctx: FilterContext,
  ): MaybePromise<RequestVerdict | undefined> {
    const targets: Target[] = []
    for (const t of topics) {
      const topic = t.name
      // An id the cluster does not know: the broker answers UNKNOWN_TOPIC_ID for it.
      if (topic === undefined) continue
      const rule = this.rules.ruleFor(topic)
      if (rule === undefined) continue
      for (const p of t.data.partitionData) {
        if (p.records !== null && p.records.length > 0) targets.push({ topicKey: t.key, topic, rule, partition: p })
      }
    }
    if (targets.length === 0) return undefined
    const cache = this.registry?.cache
    const env: CheckEnvironment = {
      resolve: (id) => cache?.cached(id),
      canRefresh: (id) => cache?.canRefresh(id) ?? false,
      local: this.local,
    }
    const checks = targets.map((t) => checkPartition(t.partition.records!, t.topic, t.rule, env))
    const missing = new Set<number>()
    const refresh = new Set<number>()
    for (const c of checks) {
      if (c.missing !== undefined) for (const id of c.missing) missing.add(id)
      if (c.refresh !== undefined) for (const id of c.refresh) refresh.add(id)
    }
    if ((missing.size === 0 && refresh.size === 0) || cache === undefined) {
      return this.decide(targets, checks, acks, ctx)
    }
    // Some schemas are not cached yet (or their subjects may be stale): ask for them all at once, then check again
    // with the answers at hand.
    const ids = [...missing, ...refresh]
    return Promise.all(ids.map((id) => (refresh.has(id) ? cache.refresh(id) : cache.lookUp(id)))).then((lookups) => {
      const answers = new Map<number, SchemaLookup>(ids.map((id, i) => [id, lookups[i]!]))
      this.metrics.schemasCached.set({}, cache.size)
      const again: CheckEnvironment = {
        resolve: (id) => answers.get(id) ?? cache.cached(id),
        canRefresh: () => false,
        local: this.local,
      }
      const rechecked = targets.map((t, i) =>
        checks[i]!.missing === undefined && checks[i]!.refresh === undefined
          ? checks[i]!
          : checkPartition(t.partition.records!, t.topic, t.rule, again),
      )
      return this.decide(targets, rechecked, acks, ctx)
    })
  }

  private decide(
    targets: readonly Target[],
    checks: readonly PartitionCheck[],
    acks: number,
    ctx: FilterContext,
  ): RequestVerdict | undefined {
    const rejections: PartitionRejection[] = []
    const clientId = ctx.clientId ?? ''
    targets.forEach((t, i) => {
      const c = checks[i]!
      const labels = { client_id: clientId, topic: t.topic, rule: t.rule.name }
      this.metrics.checked.inc(labels, c.records)
      if (c.unchecked > 0) this.metrics.unchecked.inc(labels, c.unchecked)
      const rejection = rejectionFor(t.topicKey, t.partition.index, t.rule, c)
      if (rejection === undefined) {
        this.metrics.passed.inc(labels, c.records - c.unchecked)
        if (c.unchecked > 0)
          this.logOnce(`open\u0000${t.rule.name}`, () =>
            ctx.log.warn(
              { topic: t.topic, rule: t.rule.name },
              'schema registry unreachable: records pass unchecked (onRegistryDown: fail-open)',
            ),
          )
        return
      }
      rejections.push(rejection)
      this.countRejected(labels, c)
      this.metrics.partitionsRejected.inc({ ...labels, error: String(rejection.errorCode) })
      if (acks === 0) this.metrics.dropped.inc(labels)
      this.logOnce(`${clientId}\u0000${t.topic}`, () =>
        ctx.log.warn(
          { topic: t.topic, partition: t.partition.index, rule: t.rule.name, errorCode: rejection.errorCode, acks },
          `schema validation rejected produce: ${rejection.message}${acks === 0 ? ' (acks=0: records dropped, the producer is not told)' : ''}`,
        ),
      )
    })
    return rejections.length === 0 ? undefined : rejectPartitions(rejections)
  }

  private countRejected(labels: Readonly<Record<string, string>>, c: PartitionCheck): void {
    if (c.unreadable !== undefined) {
      this.metrics.rejected.inc({ ...labels, reason: 'unreadable' }, Math.max(c.records, 1))
      return
    }
    if (c.failed === 0) {
      // Fail-closed on an unreachable registry: the whole partition waits for a retry.
      this.metrics.rejected.inc({ ...labels, reason: 'registry_unavailable' }, c.records)
      return
    }
    const byKind = new Map<string, number>()
    for (const f of c.failures) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1)
    // Failures past the reported ones count under the first one's reason.
    const extra = c.failed - c.failures.length
    if (extra > 0) byKind.set(c.failures[0]!.kind, (byKind.get(c.failures[0]!.kind) ?? 0) + extra)
    for (const [reason, n] of byKind) this.metrics.rejected.inc({ ...labels, reason }, n)
    // The records of the batch that were valid are refused with it; they count as rejected too.
    const sharing = c.records - c.failed
    if (sharing > 0) this.metrics.rejected.inc({ ...labels, reason: 'batch_with_invalid_record' }, sharing)
  }

  private logOnce(key: string, log: () => void): void {
    if (this.reported.has(key)) return
    if (this.reported.size < ONCE_LIMIT) this.reported.add(key)
    log()
  }
}
