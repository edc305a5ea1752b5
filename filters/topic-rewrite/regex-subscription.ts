import type { ConsumerGroupHeartbeatRequest } from '../../codec/messages/generated/consumer-group-heartbeat-request.js'
import type { FilterContext, MaybePromise } from '../../src/pipeline/filter-api.js'
import { clientTopicNames, type TopicList } from './metadata-view.js'
import type { NameMapper } from './name-mapper.js'

/**
 * A KIP-848 regex subscription (ConsumerGroupHeartbeat v1+ SubscribedTopicRegex, Kafka 4.0) of a canary client. The
 * broker matches the regex against its topics' real names, where the client meant its own names: `orders.*` would
 * match the real `orders` (which the client must not read) and miss `orders-canary` under the name `orders`. So the
 * sidecar matches it itself, against the topic list in the client's names, and sends the broker the real names it
 * found as SubscribedTopicNames, with no regex. The list is matched again on later heartbeats (at most
 * `regexRefreshMs` old), so topics created later join the subscription about as soon as the broker's own regex
 * evaluation would add them.
 *
 * The client's regex is read as a JavaScript regular expression against the whole name; the broker uses RE2J
 * (GroupMetadataManager, KIP-848 "Regular expression"), whose syntax agrees for the usual patterns (`.`, `*`, classes,
 * alternation, anchors are implied).
 */

export type HeartbeatOutcome =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'changed' }
  | { readonly kind: 'invalid'; readonly message: string }
  /** The topic list could not be read: the heartbeat cannot be sent without it. */
  | { readonly kind: 'unavailable'; readonly message: string }

const UNCHANGED: HeartbeatOutcome = { kind: 'unchanged' }
const CHANGED: HeartbeatOutcome = { kind: 'changed' }

export class RegexSubscription {
  private regex: RegExp | undefined
  /** The names the client subscribed to explicitly, already mapped to real names. */
  private explicit: readonly string[] = []
  /** What the broker was last told, as a sorted, joined list. */
  private lastSent: string | undefined

  constructor(
    private readonly topics: TopicList,
    private readonly mapper: NameMapper,
  ) {}

  /** `body` is the request after the carrier walk (its SubscribedTopicNames already real). */
  onHeartbeat(body: ConsumerGroupHeartbeatRequest, ctx: FilterContext): MaybePromise<HeartbeatOutcome> {
    const sentRegex = body.subscribedTopicRegex
    if (sentRegex === undefined) return UNCHANGED // v0: no regex field
    if (body.subscribedTopicNames !== null) this.explicit = body.subscribedTopicNames
    if (sentRegex !== null) {
      if (sentRegex === '') {
        this.regex = undefined
        this.lastSent = undefined
        return UNCHANGED // the client clears its regex; the empty string says so to the broker as well
      }
      try {
        this.regex = new RegExp(`^(?:${sentRegex})$`)
      } catch (err) {
        return { kind: 'invalid', message: `the sidecar cannot read regex ${sentRegex}: ${(err as Error).message}` }
      }
    }
    if (this.regex === undefined) return UNCHANGED
    const regex = this.regex
    const mustSend = sentRegex !== null || body.subscribedTopicNames !== null
    return this.topics.get(ctx).then(
      (real) => {
        const matched = clientTopicNames(real, this.mapper)
          .filter((c) => regex.test(c))
          .map((c) => this.mapper.toReal(c))
        const names = [...new Set([...this.explicit, ...matched])].sort()
        const key = names.join('\u0000')
        if (!mustSend && key === this.lastSent) return UNCHANGED
        body.subscribedTopicRegex = null
        this.lastSent = key
        body.subscribedTopicNames = names
        return CHANGED
      },
      (err: unknown): HeartbeatOutcome => ({
        kind: 'unavailable',
        message: `the sidecar could not list the topics to match the subscription regex: ${(err as Error).message}`,
      }),
    )
  }
}
