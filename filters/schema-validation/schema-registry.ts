import type { Clock } from '../../src/pipeline/filter-api.js'
import type { SchemaFormat } from './config.js'
import {
  type RegistryHttp,
  RegistryNotFoundError,
  type RegistryReference,
  type RegistrySchemaText,
  RegistryUnavailableError,
  type SubjectVersion,
} from './registry-client.js'
import { type CompiledSchema, compileSchema, formatOfSchemaType, type SchemaReference } from './validators/index.js'

/** A registry schema as validation uses it: compiled once, with the subjects (and versions) that hold it. */
export interface RegisteredSchema {
  readonly id: number
  readonly schemaType: string
  readonly format: SchemaFormat | undefined
  readonly compiled: CompiledSchema | undefined
  /** Why the sidecar cannot check records against it (a type it does not know, a schema its validator refuses). */
  readonly unusable: string | undefined
  readonly subjects: readonly SubjectVersion[]
}

export type SchemaLookup =
  | { readonly kind: 'found'; readonly schema: RegisteredSchema }
  | { readonly kind: 'unknown'; readonly reason: string }
  | { readonly kind: 'unavailable'; readonly reason: string }

export interface RegistryCacheOptions {
  readonly maxSchemas: number
  readonly ttlMs: number
  readonly unknownIdTtlMs: number
  readonly retryBackoffMs: number
}

/** What the cache reports about each call it makes (metrics). */
export interface RegistryCallObserver {
  call(outcome: 'ok' | 'not_found' | 'error', seconds: number): void
  state(up: boolean): void
}

export interface RegistryHealth {
  readonly up: boolean
  /** Why it is down, and since when (ms since the epoch). */
  readonly reason?: string
  readonly since?: number
}

type Entry =
  | { readonly kind: 'found'; readonly schema: RegisteredSchema; readonly at: number }
  | { readonly kind: 'unknown'; readonly reason: string; readonly at: number }

const MAX_REFERENCE_DEPTH = 16
/** A schema's subjects are asked again at most this often when a record names a subject they lack (see refresh). */
const SUBJECTS_REFRESH_MS = 1000

/**
 * Schemas by id, shared by every connection of one configured filter: bounded (the longest held leave first), each
 * trusted for `ttlMs` (an id's schema never changes in a Confluent-compatible registry, but the subjects that hold it
 * can), lookups of one id coalesced into one set of registry calls. When the registry cannot be reached, an expired
 * schema is still used, a new id is answered `unavailable` at once until `retryBackoffMs` has passed, and `health()`
 * says so until a call succeeds again.
 */
export class SchemaRegistryCache {
  private readonly entries = new Map<number, Entry>()
  private readonly pending = new Map<number, Promise<SchemaLookup>>()
  private downSince: number | undefined
  private downReason: string | undefined
  private retryAt = 0

  constructor(
    private readonly http: Pick<RegistryHttp, 'schemaById' | 'subjectsOf' | 'subjectVersion'>,
    private readonly clock: Clock,
    private readonly options: RegistryCacheOptions,
    private readonly observer: RegistryCallObserver | undefined = undefined,
  ) {}

  /** The cached answer for an id while it is fresh, without waiting: the hot path. */
  cached(id: number): SchemaLookup | undefined {
    const e = this.entries.get(id)
    if (e === undefined) return undefined
    const ttl = e.kind === 'found' ? this.options.ttlMs : this.options.unknownIdTtlMs
    if (this.clock.monotonic() - e.at > ttl) return undefined
    return e.kind === 'found' ? { kind: 'found', schema: e.schema } : { kind: 'unknown', reason: e.reason }
  }

  /**
   * Whether the subjects of a cached schema may be out of date: the same schema can be registered under another subject
   * after it was cached (Apicurio gives the same content the same id), so a record whose subject is missing from the
   * list is checked again against a fresh one, at most once a second per id.
   */
  canRefresh(id: number): boolean {
    const e = this.entries.get(id)
    return e?.kind === 'found' && this.clock.monotonic() - e.at > SUBJECTS_REFRESH_MS
  }

  /** Looks an id up again even though it is cached (coalesced like lookUp; a failure keeps the cached schema). */
  refresh(id: number): Promise<SchemaLookup> {
    let p = this.pending.get(id)
    if (p === undefined) {
      p = this.fetch(id)
      this.pending.set(id, p)
      void p.finally(() => this.pending.delete(id))
    }
    return p
  }

  get size(): number {
    return this.entries.size
  }

  /** Asks the registry (once for any number of concurrent callers); never rejects. */
  lookUp(id: number): Promise<SchemaLookup> {
    const fresh = this.cached(id)
    if (fresh !== undefined) return Promise.resolve(fresh)
    let p = this.pending.get(id)
    if (p === undefined) {
      p = this.fetch(id)
      this.pending.set(id, p)
      void p.finally(() => this.pending.delete(id))
    }
    return p
  }

  health(): RegistryHealth {
    return this.downSince === undefined ? { up: true } : { up: false, reason: this.downReason, since: this.downSince }
  }

  /** Keeps what another instance learnt (hot reload with the same registry). */
  adopt(other: SchemaRegistryCache): void {
    for (const [id, e] of other.entries) if (e.kind === 'found') this.remember(id, e)
  }

  private async fetch(id: number): Promise<SchemaLookup> {
    const stale = this.entries.get(id)
    if (this.clock.monotonic() < this.retryAt) {
      if (stale?.kind === 'found') return { kind: 'found', schema: stale.schema }
      return { kind: 'unavailable', reason: this.downReason ?? 'the schema registry is unreachable' }
    }
    try {
      const schema = await this.load(id)
      this.markUp()
      const entry = { kind: 'found' as const, schema, at: this.clock.monotonic() }
      this.remember(id, entry)
      return { kind: 'found', schema }
    } catch (err) {
      if (err instanceof RegistryNotFoundError) {
        this.markUp()
        const reason = `schema id ${id} is not in the registry`
        this.remember(id, { kind: 'unknown', reason, at: this.clock.monotonic() })
        return { kind: 'unknown', reason }
      }
      const reason = err instanceof Error ? err.message : String(err)
      this.markDown(reason)
      if (stale?.kind === 'found') return { kind: 'found', schema: stale.schema }
      return { kind: 'unavailable', reason }
    }
  }

  private async load(id: number): Promise<RegisteredSchema> {
    const [text, subjects] = await Promise.all([
      this.timed(() => this.http.schemaById(id)),
      // Which subjects hold the id: only for subject checks and messages, so a registry without the call is no failure.
      this.timed(() => this.http.subjectsOf(id)).catch((err: unknown) => {
        if (err instanceof RegistryNotFoundError) return [] as SubjectVersion[]
        throw err
      }),
    ])
    const schemaType = text.schemaType ?? 'AVRO'
    const format = formatOfSchemaType(text.schemaType)
    if (format === undefined) {
      return {
        id,
        schemaType,
        format,
        compiled: undefined,
        unusable: `its type ${schemaType} is not one the sidecar checks`,
        subjects,
      }
    }
    const references: SchemaReference[] = []
    await this.resolveReferences(text.references, new Set(), references, 0)
    try {
      return {
        id,
        schemaType,
        format,
        compiled: compileSchema(format, text.schema, references),
        unusable: undefined,
        subjects,
      }
    } catch (err) {
      return { id, schemaType, format, compiled: undefined, unusable: (err as Error).message, subjects }
    }
  }

  /** Referenced schemas, dependencies before the schemas that import them (as each validator adds them). */
  private async resolveReferences(
    refs: readonly RegistryReference[],
    seen: Set<string>,
    out: SchemaReference[],
    depth: number,
  ): Promise<void> {
    if (depth > MAX_REFERENCE_DEPTH) throw new RegistryUnavailableError('schema references nest too deep')
    for (const ref of refs) {
      const key = `${ref.subject}\u0000${ref.version}`
      if (seen.has(key)) continue
      seen.add(key)
      let text: RegistrySchemaText
      try {
        text = await this.timed(() => this.http.subjectVersion(ref.subject, ref.version))
      } catch (err) {
        // A reference the registry does not have makes the schema unusable, not the registry unreachable.
        if (err instanceof RegistryNotFoundError) throw new RegistryUnavailableError(err.message)
        throw err
      }
      await this.resolveReferences(text.references, seen, out, depth + 1)
      out.push({ name: ref.name, source: text.schema })
    }
  }

  private async timed<T>(call: () => Promise<T>): Promise<T> {
    const started = this.clock.monotonic()
    try {
      const result = await call()
      this.observer?.call('ok', (this.clock.monotonic() - started) / 1000)
      return result
    } catch (err) {
      this.observer?.call(
        err instanceof RegistryNotFoundError ? 'not_found' : 'error',
        (this.clock.monotonic() - started) / 1000,
      )
      throw err
    }
  }

  private remember(id: number, entry: Entry): void {
    this.entries.delete(id)
    this.entries.set(id, entry)
    while (this.entries.size > this.options.maxSchemas) {
      const oldest = this.entries.keys().next().value as number
      this.entries.delete(oldest)
    }
  }

  private markUp(): void {
    if (this.downSince !== undefined) this.observer?.state(true)
    this.downSince = undefined
    this.downReason = undefined
    this.retryAt = 0
  }

  private markDown(reason: string): void {
    if (this.downSince === undefined) {
      this.downSince = this.clock.now()
      this.observer?.state(false)
    }
    this.downReason = reason
    this.retryAt = this.clock.monotonic() + this.options.retryBackoffMs
  }
}
