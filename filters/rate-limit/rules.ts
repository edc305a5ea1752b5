import type { BudgetScope, Rule, StringMatcher } from './config.js'

/**
 * Which rule governs a client, and whose budget it spends. Rules are tried in order and the first that matches wins,
 * like Kafka's ssl.principal.mapping.rules; a client no rule matches is not limited. A client without a client id
 * (null in the request header) matches as the empty string, a connection without a principal (no mTLS) likewise.
 */

export interface RuleChoice {
  readonly rule: Rule
  /**
   * The budget's identity under the rule's scope (`per`): clients with the same entity share every budget of the
   * rule, across all their connections (and, with Redis, across sidecars).
   */
  readonly entity: string
}

export class RuleSet {
  constructor(readonly rules: readonly Rule[]) {}

  get empty(): boolean {
    return this.rules.length === 0
  }

  /** The rule for a client, and the entity whose budget it spends; undefined when no rule matches. */
  choose(clientId: string | null, principal: string | undefined): RuleChoice | undefined {
    const id = clientId ?? ''
    const p = principal ?? ''
    for (const rule of this.rules) {
      if (matches(rule.match.clientId, id) && matches(rule.match.principal, p)) {
        return { rule, entity: entityKey(rule.per, id, p) }
      }
    }
    return undefined
  }

  /**
   * The choice at admission, before any byte is read, when it can be made without the client id: the first rule
   * that would match no matter the client id has no clientId condition, and its budget is per principal. Undefined
   * when no rule could match, or when the answer waits for the client id (its first request).
   */
  chooseBeforeClientId(principal: string | undefined): RuleChoice | undefined {
    const p = principal ?? ''
    for (const rule of this.rules) {
      if (!matches(rule.match.principal, p)) continue
      // A rule on client ids might match once the id is known: nothing before it is decided.
      if (rule.match.clientId !== undefined || rule.per !== 'principal') return undefined
      return { rule, entity: entityKey(rule.per, '', p) }
    }
    return undefined
  }
}

function matches(m: StringMatcher | undefined, value: string): boolean {
  if (m === undefined) return true
  return m.kind === 'exact' ? m.value === value : m.regex.test(value)
}

/** Entities of different scopes never collide: the scope is part of the key. */
export function entityKey(per: BudgetScope, clientId: string, principal: string): string {
  switch (per) {
    case 'clientId':
      return `c\u0000${clientId}`
    case 'principal':
      return `p\u0000${principal}`
    case 'clientIdAndPrincipal':
      return `b\u0000${clientId}\u0000${principal}`
  }
}
