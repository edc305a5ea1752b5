import { kindMask, type NameKind } from './carrier-walker.js'
import { ClientSelector } from './client-selector.js'
import type { RuleConfig, RuleMode, TopicRewriteConfig } from './config.js'
import { NameMapper } from './name-mapper.js'

/** One configured rule, ready to use: who it selects and how it maps each kind of name. */
export interface Rule {
  readonly name: string
  readonly mode: RuleMode
  readonly selector: ClientSelector
  readonly topics: NameMapper
  readonly groups: NameMapper
  readonly transactionalIds: NameMapper
  /** The kinds of names this rule maps (carrier-walker kindMask). */
  readonly mask: number
}

export function compileRule(config: RuleConfig, index: number): Rule {
  const key = `rules[${index}]`
  const topics = new NameMapper(config.topics, `${key}.topics`, isInternalTopic)
  const groups = new NameMapper(config.groups, `${key}.groups`)
  const transactionalIds = new NameMapper(config.transactionalIds, `${key}.transactionalIds`)
  const kinds: NameKind[] = []
  if (!topics.empty) kinds.push('topic')
  if (!groups.empty) kinds.push('group')
  if (!transactionalIds.empty) kinds.push('txn')
  return {
    name: config.name,
    mode: config.mode,
    selector: new ClientSelector(config.clients),
    topics,
    groups,
    transactionalIds,
    mask: kindMask(kinds),
  }
}

/**
 * Kafka's own topics keep their names whatever the rules say: __consumer_offsets, __transaction_state,
 * __share_group_state (Topic.java / internal topic names) and __cluster_metadata (DescribeQuorum's TopicName), all of
 * the double-underscore names Kafka reserves for itself. A catch-all rule such as `(.*)` -> `canary.$1` would
 * otherwise send DescribeQuorum and offset lookups to topics that do not exist.
 */
export function isInternalTopic(name: string): boolean {
  return name.startsWith('__')
}

/** Compiles every rule; throws TopicRewriteConfigError for a regex rule whose way back cannot be derived. */
export function compileRules(config: TopicRewriteConfig): Rule[] {
  return config.rules.map(compileRule)
}

/** The first rule that selects this client, if any. */
export function ruleFor(
  rules: readonly Rule[],
  clientId: string | null,
  principal: string | undefined,
): Rule | undefined {
  return rules.find((r) => r.selector.selects(clientId, principal))
}

export function mapperFor(rule: Rule, kind: NameKind): NameMapper {
  return kind === 'topic' ? rule.topics : kind === 'group' ? rule.groups : rule.transactionalIds
}
