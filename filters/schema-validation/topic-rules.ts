import type { Rule, TopicMatch } from './config.js'

/** Topics whose rule is remembered; past this the memo starts over (client-chosen topic names are unbounded). */
const MEMO_LIMIT = 10_000

function matches(match: TopicMatch, topic: string): boolean {
  switch (match.kind) {
    case 'exact':
      return topic === match.topic
    case 'prefix':
      return topic.startsWith(match.prefix)
    case 'regex':
      return match.regex.test(topic)
  }
}

/** The first rule (in configuration order) whose topic match takes a topic; looked up once per topic name. */
export class TopicRules {
  private readonly memo = new Map<string, Rule | null>()

  constructor(readonly rules: readonly Rule[]) {}

  ruleFor(topic: string): Rule | undefined {
    let rule = this.memo.get(topic)
    if (rule === undefined) {
      rule = this.rules.find((r) => matches(r.match, topic)) ?? null
      if (this.memo.size >= MEMO_LIMIT) this.memo.clear()
      this.memo.set(topic, rule)
    }
    return rule ?? undefined
  }
}
