import { fullMatch, type NameRuleConfig, TopicRewriteConfigError } from './config.js'

/**
 * Names both ways for one kind of name (topics, group ids or transactional ids) under a list of rules.
 *
 * `toReal` (client name -> broker name) applies the first rule that matches; a name no rule matches is itself.
 * `toClient` (broker name -> client name) is its inverse: the client name c with toReal(c) === real, found through
 * each rule's way back and checked by applying the rule forward again, so a reverse that is wrong for some name can
 * never produce a name that does not map back. A broker name with no such c is hidden from the client (undefined):
 * the real `orders` when `orders` maps to `orders-canary`, so a client never sees two topics that map to one name.
 */

interface CompiledRule {
  /** The broker name for a client name, or undefined when the rule does not match it. */
  forward(name: string): string | undefined
  /** A candidate client name for a broker name, or undefined; toClient checks it with forward(). */
  backward(real: string): string | undefined
}

/** Beyond this many names a cache starts over (names are cheap to map again). */
const CACHE_LIMIT = 10_000

export class NameMapper {
  private readonly rules: readonly CompiledRule[]
  private readonly forwardCache = new Map<string, string>()
  private readonly backwardCache = new Map<string, string | null>()

  /**
   * Throws TopicRewriteConfigError (naming `key`) for a regex rule whose way back cannot be derived. Names for which
   * `keep` is true are never mapped either way.
   */
  constructor(
    rules: readonly NameRuleConfig[],
    key = 'rules',
    private readonly keep: (name: string) => boolean = () => false,
  ) {
    const compiled: CompiledRule[] = []
    rules.forEach((r, i) => {
      if (r.kind === 'exact') {
        compiled.push(exactRule(r.from, r.to))
      } else if (r.kind === 'prefix') {
        compiled.push(prefixRule(r.from, r.to))
      } else {
        compiled.push(regexRule(r, `${key}[${i}]`))
      }
    })
    this.rules = compiled
  }

  /** True when no rule is configured: every name is itself both ways. */
  get empty(): boolean {
    return this.rules.length === 0
  }

  toReal(name: string): string {
    if (this.rules.length === 0 || this.keep(name)) return name
    const hit = this.forwardCache.get(name)
    if (hit !== undefined) return hit
    let out = name
    for (const r of this.rules) {
      const m = r.forward(name)
      if (m !== undefined) {
        out = m
        break
      }
    }
    if (this.forwardCache.size >= CACHE_LIMIT) this.forwardCache.clear()
    this.forwardCache.set(name, out)
    return out
  }

  /** The client's name for a broker name, or undefined when the client must not see it. */
  toClient(real: string): string | undefined {
    if (this.rules.length === 0 || this.keep(real)) return real
    const hit = this.backwardCache.get(real)
    if (hit !== undefined) return hit ?? undefined
    let out: string | undefined
    for (const r of this.rules) {
      const c = r.backward(real)
      if (c !== undefined && this.toReal(c) === real) {
        out = c
        break
      }
    }
    if (out === undefined && this.toReal(real) === real) out = real
    if (this.backwardCache.size >= CACHE_LIMIT) this.backwardCache.clear()
    this.backwardCache.set(real, out ?? null)
    return out
  }
}

function exactRule(from: string, to: string): CompiledRule {
  return {
    forward: (name) => (name === from ? to : undefined),
    backward: (real) => (real === to ? from : undefined),
  }
}

function prefixRule(from: string, to: string): CompiledRule {
  return {
    forward: (name) => (name.startsWith(from) ? to + name.slice(from.length) : undefined),
    backward: (real) => (real.startsWith(to) ? from + real.slice(to.length) : undefined),
  }
}

function regexRule(r: Extract<NameRuleConfig, { kind: 'regex' }>, key: string): CompiledRule {
  const re = fullMatch(r.from, `${key}.regex`)
  const forward = (name: string) => (re.test(name) ? name.replace(re, r.to) : undefined)
  if (r.reverse !== undefined) {
    const back = fullMatch(r.reverse.regex, `${key}.reverse.regex`)
    const to = r.reverse.to
    return { forward, backward: (real) => (back.test(real) ? real.replace(back, to) : undefined) }
  }
  const derived = deriveReverse(r.from, r.to)
  if (derived === undefined) {
    throw new TopicRewriteConfigError(
      key,
      `cannot derive the way back (broker name to client name) of regex ${JSON.stringify(r.from)} -> ${JSON.stringify(r.to)}: ` +
        'it is derived only for a pattern of literal text and capture groups, each group used once in `to`; ' +
        'give reverse: { regex, to } (for example regex: canary\\.(.*), to: $1)',
    )
  }
  return { forward, backward: derived }
}

/** A piece of a pattern or template: literal text, or a capture group (pattern) / reference (template). */
type Piece = { readonly text: string } | { readonly group: number; readonly name?: string }

/**
 * The way back of a regex rule whose pattern is literal text and capture groups (`orders-(.*)`, `(.*)`,
 * `(?<app>[a-z]+)\.events`) and whose template uses each group once (`canary.$1`, `$<app>-canary`): the template
 * becomes a pattern that captures the groups' values, and the pattern with those values in place of its groups is
 * the client name. Anything else (an unused group, nested groups, `.` or classes outside groups) cannot be undone in
 * general; undefined then, and the rule needs an explicit reverse.
 */
export function deriveReverse(pattern: string, template: string): ((real: string) => string | undefined) | undefined {
  const p = parsePattern(pattern)
  if (p === undefined) return undefined
  const t = parseTemplate(template, p.names, p.pieces.filter((x) => 'group' in x).length)
  if (t === undefined) return undefined
  const groups = p.pieces.filter((x) => 'group' in x).map((x) => (x as { group: number }).group)
  const refs = t.filter((x) => 'group' in x).map((x) => (x as { group: number }).group)
  if (new Set(refs).size !== refs.length || groups.length !== refs.length) return undefined
  if (!groups.every((g) => refs.includes(g))) return undefined
  const build = (lazy: boolean) =>
    new RegExp(`^${t.map((x) => ('text' in x ? escapeRegExp(x.text) : lazy ? '(.*?)' : '(.*)')).join('')}$`)
  // Two splits of a real name between adjacent groups can both look right; toClient checks each by mapping forward.
  const readers = [build(true), build(false)]
  return (real) => {
    for (const reader of readers) {
      const m = reader.exec(real)
      if (m === null) continue
      const values = new Map<number, string>()
      for (const [i, g] of refs.entries()) values.set(g, m[i + 1]!)
      return p.pieces.map((x) => ('text' in x ? x.text : values.get(x.group)!)).join('')
    }
    return undefined
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
}

const META = new Set(['.', '*', '+', '?', '[', ']', '{', '}', '|', '^', '$'])

/** Literal text and top-level capture groups, or undefined for anything else. */
function parsePattern(src: string): { pieces: Piece[]; names: Map<string, number> } | undefined {
  let s = src
  if (s.startsWith('^')) s = s.slice(1)
  if (s.endsWith('$') && !s.endsWith('\\$')) s = s.slice(0, -1)
  const pieces: Piece[] = []
  const names = new Map<string, number>()
  let text = ''
  let group = 0
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c === '\\') {
      const n = s[i + 1]
      // An escaped punctuation character is itself; \d, \w and friends are classes, not text.
      if (n === undefined || /[A-Za-z0-9]/.test(n)) return undefined
      text += n
      i++
    } else if (c === '(') {
      let name: string | undefined
      let j = i + 1
      if (s[j] === '?') {
        const m = /^\?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(s.slice(j))
        if (m === null) return undefined // non-capturing or look-around groups
        name = m[1]
        j += m[0].length
      }
      // The group's content may be anything but another group.
      let depth = 0
      let k = j
      for (; k < s.length; k++) {
        if (s[k] === '\\') k++
        else if (s[k] === '(') return undefined
        else if (s[k] === '[') depth++
        else if (s[k] === ']') depth = Math.max(0, depth - 1)
        else if (s[k] === ')' && depth === 0) break
      }
      if (k >= s.length) return undefined
      if (text !== '') pieces.push({ text })
      text = ''
      group++
      pieces.push(name === undefined ? { group } : { group, name })
      if (name !== undefined) names.set(name, group)
      i = k
    } else if (META.has(c)) {
      return undefined
    } else {
      text += c
    }
  }
  if (text !== '') pieces.push({ text })
  return { pieces, names }
}

/** String.replace's template: $1..$99, $<name>, $$; $& and $` / $' cannot be undone. */
function parseTemplate(src: string, names: ReadonlyMap<string, number>, groupCount: number): Piece[] | undefined {
  const pieces: Piece[] = []
  let text = ''
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!
    if (c !== '$') {
      text += c
      continue
    }
    const rest = src.slice(i + 1)
    const num = /^\d{1,2}/.exec(rest)
    const named = /^<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest)
    if (rest.startsWith('$')) {
      text += '$'
      i++
      continue
    }
    let group: number | undefined
    if (num !== null) {
      // As String.replace reads it: $10 is group 10 only when there are ten groups, else $1 and a 0.
      const digits = num[0].length === 2 && Number(num[0]) > groupCount ? num[0].slice(0, 1) : num[0]
      group = Number(digits)
      i += digits.length
    } else if (named !== null) {
      group = names.get(named[1]!)
      i += named[0].length
    } else if (/^[&`']/.test(rest)) {
      return undefined
    } else {
      text += '$'
      continue
    }
    if (group === undefined || group === 0) return undefined
    if (text !== '') pieces.push({ text })
    text = ''
    pieces.push({ group })
  }
  if (text !== '') pieces.push({ text })
  // Two references side by side cannot be told apart when read back.
  for (let i = 1; i < pieces.length; i++) if ('group' in pieces[i]! && 'group' in pieces[i - 1]!) return undefined
  return pieces
}
