import type { Direction, TapMatch, TapSample } from './config.js'

/**
 * Which traffic a tap copies: the connection (client id, principal), the direction and the topic, each compiled once
 * per tap; and which of the selected records or batches it keeps (sampling).
 */

/** Distinct topic names remembered per tap; beyond that a topic is matched afresh each time (no growth). */
const MAX_CACHED_TOPICS = 10_000

export class Selection {
  private readonly clientIdRegex: RegExp | undefined
  private readonly principalRegex: RegExp | undefined
  private readonly topicRegex: RegExp | undefined
  private readonly topics: ReadonlySet<string> | undefined
  private readonly topicCache = new Map<string, boolean>()
  /** No topic condition: every topic (except tap destinations, which the engine excludes). */
  readonly everyTopic: boolean

  constructor(
    readonly match: TapMatch,
    private readonly sample: TapSample,
    private readonly random: () => number = Math.random,
  ) {
    this.clientIdRegex = match.clientIdRegex === undefined ? undefined : new RegExp(match.clientIdRegex)
    this.principalRegex = match.principalRegex === undefined ? undefined : new RegExp(match.principalRegex)
    this.topicRegex = match.topicRegex === undefined ? undefined : new RegExp(match.topicRegex)
    this.topics = match.topics === undefined ? undefined : new Set(match.topics)
    this.everyTopic = this.topics === undefined && match.topicPrefixes === undefined && this.topicRegex === undefined
  }

  wants(direction: Direction): boolean {
    return this.match.directions.includes(direction)
  }

  /** The connection's client and principal match (a client without a client id matches no client id condition). */
  connectionMatches(clientId: string | null, principal: string | undefined): boolean {
    const m = this.match
    if (m.clientId !== undefined && clientId !== m.clientId) return false
    if (this.clientIdRegex !== undefined && (clientId === null || !this.clientIdRegex.test(clientId))) return false
    if (m.principal !== undefined && principal !== m.principal) return false
    if (this.principalRegex !== undefined && (principal === undefined || !this.principalRegex.test(principal)))
      return false
    return true
  }

  topicMatches(topic: string): boolean {
    if (this.everyTopic) return true
    const hit = this.topicCache.get(topic)
    if (hit !== undefined) return hit
    const matches =
      this.topics?.has(topic) === true ||
      this.match.topicPrefixes?.some((p) => topic.startsWith(p)) === true ||
      this.topicRegex?.test(topic) === true
    if (this.topicCache.size < MAX_CACHED_TOPICS) this.topicCache.set(topic, matches)
    return matches
  }

  /** Keep this record? (Every record of a batch the batch sampler kept is kept.) */
  keepRecord(): boolean {
    return this.sample.by === 'batches' || this.sample.rate >= 1 || this.random() < this.sample.rate
  }

  /** Keep this batch? */
  keepBatch(): boolean {
    return this.sample.by === 'records' || this.sample.rate >= 1 || this.random() < this.sample.rate
  }

  /** Of `n` selected records (or bytes), the share this tap would have copied: what a drop costs it. */
  share(n: number): number {
    return this.sample.rate >= 1 ? n : Math.round(n * this.sample.rate)
  }
}
