import type { DescribeConfigsResponse } from '../../codec/messages/generated/describe-configs-response.js'
import type { ProduceRequest } from '../../codec/messages/generated/produce-request.js'
import {
  ApiKey,
  type Clock,
  type ConfiguredFilter,
  type DecodedRequest,
  ErrorCode,
  type Filter,
  type FilterContext,
  type FilterCounter,
  type FilterPlugin,
  type FilterSetupContext,
  type MaybePromise,
  type NamedProduceTopic,
  type PartitionRejection,
  produceTopics,
  type RequestVerdict,
  rejectPartitions,
} from '../../src/pipeline/filter-api.js'

/**
 * durability-guard: topics that are meant to be durable take acks=all only. A topic whose min.insync.replicas is
 * at least `minInsyncReplicas` promises that an acknowledged record is on that many replicas, a promise a producer
 * with acks=1 or acks=0 silently opts out of (Kafka's broker applies min.insync.replicas only to acks=all produce
 * requests: ProduceRequest.json Acks, and the broker's Partition.appendRecordsToLeader). The guard answers such
 * produce requests for those topics' partitions with INVALID_REQUIRED_ACKS and a message naming the topic, and
 * lets every other partition of the same request through.
 *
 * It is the example filter of the filter API (README "Writing a filter"): it asks the broker for the topic's
 * configuration with a request of its own (FilterContext.sendRequest, DescribeConfigs), names topics that Produce
 * v13 carries by id (FilterContext.topicNames), and answers partitions itself (rejectPartitions).
 */

export interface DurabilityGuardConfig {
  /** Topics with min.insync.replicas at or above this take acks=all only. */
  readonly minInsyncReplicas: number
  /** How long a topic's min.insync.replicas is remembered before it is asked again. */
  readonly cacheMs: number
}

const DEFAULTS: DurabilityGuardConfig = { minInsyncReplicas: 2, cacheMs: 60_000 }

/** DescribeConfigs resource type of a topic (ConfigResource.Type.TOPIC in kafka-clients). */
const RESOURCE_TOPIC = 2
const MIN_ISR = 'min.insync.replicas'

export class DurabilityGuardConfigError extends Error {
  readonly code = 'KSC_ERR_CONFIG_FILTER'
  constructor(key: string, message: string) {
    super(`filters: durability-guard: ${key}: ${message}`)
  }
}

function parseConfig(raw: unknown): DurabilityGuardConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new DurabilityGuardConfigError('config', 'expected a mapping with minInsyncReplicas and cacheMs')
  }
  const known = new Set(Object.keys(DEFAULTS))
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) throw new DurabilityGuardConfigError(key, `unknown key; known: ${[...known].join(', ')}`)
  }
  const r = raw as Record<string, unknown>
  const int = (key: keyof DurabilityGuardConfig, min: number): number => {
    const v = r[key] ?? DEFAULTS[key]
    if (!Number.isInteger(v) || (v as number) < min) {
      throw new DurabilityGuardConfigError(key, `expected an integer of at least ${min}, got ${JSON.stringify(v)}`)
    }
    return v as number
  }
  return { minInsyncReplicas: int('minInsyncReplicas', 1), cacheMs: int('cacheMs', 0) }
}

/** min.insync.replicas per topic, shared by every connection; lookups of one topic are coalesced. */
class MinIsrCache {
  private readonly known = new Map<string, { value: number | undefined; at: number }>()
  private readonly pending = new Map<string, Promise<number | undefined>>()

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  /** The cached value (undefined: unknown or not readable), or nothing when it must be asked. */
  cached(topic: string): { value: number | undefined } | undefined {
    const hit = this.known.get(topic)
    if (hit === undefined || this.clock.monotonic() - hit.at > this.ttlMs) return undefined
    return hit
  }

  lookUp(topic: string, ctx: FilterContext, onFailure: (err: unknown) => void): Promise<number | undefined> {
    let p = this.pending.get(topic)
    if (p === undefined) {
      p = describeMinIsr(topic, ctx).then(
        (value) => {
          this.known.set(topic, { value, at: this.clock.monotonic() })
          return value
        },
        (err: unknown) => {
          // Not readable (no DESCRIBE_CONFIGS permission, broker trouble): the guard does not stand in the way.
          onFailure(err)
          this.known.set(topic, { value: undefined, at: this.clock.monotonic() })
          return undefined
        },
      )
      this.pending.set(topic, p)
      void p.finally(() => this.pending.delete(topic))
    }
    return p
  }
}

async function describeMinIsr(topic: string, ctx: FilterContext): Promise<number | undefined> {
  const version = ctx.apiVersion(ApiKey.DescribeConfigs)
  if (version === undefined) throw new Error('the broker did not say which DescribeConfigs versions it supports')
  const res = await ctx.sendRequest(ApiKey.DescribeConfigs, version, {
    resources: [{ resourceType: RESOURCE_TOPIC, resourceName: topic, configurationKeys: [MIN_ISR] }],
    includeSynonyms: false,
    includeDocumentation: false,
  })
  const result = (res.body as DescribeConfigsResponse).results[0]
  if (result === undefined) throw new Error(`DescribeConfigs for ${topic} came back empty`)
  if (result.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) return undefined // the broker answers produce
  if (result.errorCode !== 0) {
    throw new Error(`DescribeConfigs for ${topic} failed with error ${result.errorCode}: ${result.errorMessage ?? ''}`)
  }
  const value = result.configs.find((c) => c.name === MIN_ISR)?.value
  return value == null ? undefined : Number(value)
}

class DurabilityGuard implements ConfiguredFilter {
  readonly name = 'durability-guard'
  private readonly cache: MinIsrCache
  private readonly rejected: FilterCounter
  private readonly reported = new Set<string>()

  constructor(
    readonly config: DurabilityGuardConfig,
    setup: FilterSetupContext,
  ) {
    this.cache = new MinIsrCache(setup.clock, config.cacheMs)
    this.rejected = setup.metrics.counter(
      'rejected_partitions_total',
      'Produce partitions answered INVALID_REQUIRED_ACKS (acks below all for a topic that requires it)',
      ['client_id', 'topic'],
    )
  }

  forConnection(): Filter {
    return {
      // Reads no records, but may cut partitions out of a Produce request, which is then encoded again.
      wantsRequest: (apiKey) => apiKey === ApiKey.Produce,
      onRequest: (req, ctx) => this.onProduce(req as DecodedRequest<typeof ApiKey.Produce>, ctx),
    }
  }

  private onProduce(
    req: DecodedRequest<typeof ApiKey.Produce>,
    ctx: FilterContext,
  ): MaybePromise<RequestVerdict | undefined> {
    const body = req.body as ProduceRequest
    if (body.acks === -1) return undefined
    const topics = produceTopics(req, ctx)
    return isPromiseLike(topics)
      ? topics.then((t) => this.judge(t, body.acks, ctx))
      : this.judge(topics, body.acks, ctx)
  }

  /** Synchronous when every topic's min.insync.replicas is cached; otherwise waits for the lookups. */
  private judge(
    topics: readonly NamedProduceTopic[],
    acks: number,
    ctx: FilterContext,
  ): MaybePromise<RequestVerdict | undefined> {
    const missing = topics.flatMap((t) =>
      t.name !== undefined && this.cache.cached(t.name) === undefined ? [t.name] : [],
    )
    const decide = (): RequestVerdict | undefined => {
      const rejections: PartitionRejection[] = []
      for (const t of topics) {
        const minIsr = t.name === undefined ? undefined : this.cache.cached(t.name)?.value
        if (t.name === undefined || minIsr === undefined || minIsr < this.config.minInsyncReplicas) continue
        const message = `topic ${t.name} requires acks=all (min.insync.replicas=${minIsr}); this producer uses acks=${acks}`
        for (const p of t.data.partitionData) {
          rejections.push({ topic: t.key, partition: p.index, errorCode: ErrorCode.INVALID_REQUIRED_ACKS, message })
        }
        this.count(ctx, t.name, t.data.partitionData.length, message, acks)
      }
      return rejections.length === 0 ? undefined : rejectPartitions(rejections)
    }
    if (missing.length === 0) return decide()
    const onFailure = (err: unknown) =>
      this.once(`lookup:${(err as Error).message}`, () =>
        ctx.log.warn(
          { err: (err as Error).message },
          'durability-guard could not read a topic configuration; its produce requests pass unchecked',
        ),
      )
    return Promise.all([...new Set(missing)].map((n) => this.cache.lookUp(n, ctx, onFailure))).then(decide)
  }

  private count(ctx: FilterContext, topic: string, partitions: number, message: string, acks: number): void {
    this.rejected.inc({ client_id: ctx.clientId ?? '', topic }, partitions)
    // acks=0 gets no response at all: the rejected partitions are dropped, which only this line reports.
    this.once(`${ctx.clientId}\u0000${topic}`, () =>
      ctx.log.warn(
        { topic, acks },
        `durability-guard rejected produce: ${message}${acks === 0 ? ' (acks=0: records dropped)' : ''}`,
      ),
    )
  }

  private once(key: string, log: () => void): void {
    if (this.reported.has(key)) return
    if (this.reported.size < 10_000) this.reported.add(key)
    log()
  }
}

export const durabilityGuardPlugin: FilterPlugin<DurabilityGuardConfig> = {
  name: 'durability-guard',
  parseConfig,
  configure: (config, setup) => new DurabilityGuard(config, setup),
}

function isPromiseLike<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown }).then === 'function'
}
