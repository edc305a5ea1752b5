/**
 * A RegExp's test() on ASCII text, run over the bytes themselves: a string value the fast path checks against a
 * pattern or a format (json-skip-strings.ts) then needs no decoding and no call into the regular expression engine;
 * on 1 KiB orders those two were a quarter of the walk (bench/json-check-cost.ts).
 *
 * Only regular expressions whose test() is a regular language are taken: literals, '.', classes, the class escapes,
 * groups, alternation, the greedy and lazy quantifiers, and '^' / '$' at the two ends of the whole pattern. Anything
 * else (backreferences, lookaround, word boundaries, named groups, anchors inside, the m, g, y and v flags, non-ASCII
 * pattern text) gets no matcher and stays with the RegExp. For these constructs test(s) is true exactly when some
 * substring of s is in the language of the pattern (ECMA-262 RegExp semantics: backtracking tries every alternative;
 * lazy quantifiers only reorder them; the empty-iteration check drops no match), so the pattern, with "any text"
 * added at an unanchored end, becomes a deterministic automaton over the 128 ASCII characters.
 *
 * What each atom (a character, '.', a class, an escape) matches is not worked out here: the engine is asked, by
 * testing each of the 128 characters against the atom alone with the pattern's flags, so case folding (i), dotAll (s)
 * and unicode (u) mean what they mean to the RegExp itself.
 */
export type AsciiMatcher = (buf: Uint8Array, start: number, end: number) => boolean

/**
 * States of the automaton beyond which a pattern keeps its RegExp (its table would be large for little gain); state
 * numbers then fit a byte, so a table is at most 32 KiB.
 */
const MAX_STATES = 256
/** Copies a counted quantifier ({n,m}) may make of its atom. */
const MAX_REPEAT = 64

class NotRegular extends Error {}

/** NFA nodes: edges on a character set, or empty edges. */
interface Nfa {
  /** For each node, [set, target] edges. */
  readonly edges: [Uint8Array, number][][]
  readonly empties: number[][]
}

/** A fragment of the NFA: its entry and exit nodes. */
interface Fragment {
  readonly start: number
  readonly end: number
}

/** The matcher for a RegExp's source and flags, or undefined when the pattern is not of the shape taken. */
export function asciiMatcher(source: string, flags: string): AsciiMatcher | undefined {
  if (/[^ius]/.test(flags) || /[^\x20-\x7e]/.test(source)) return undefined
  try {
    return build(source, flags)
  } catch (err) {
    if (err instanceof NotRegular) return undefined
    throw err
  }
}

function build(source: string, flags: string): AsciiMatcher {
  const nfa: Nfa = { edges: [], empties: [] }
  const node = () => {
    nfa.edges.push([])
    nfa.empties.push([])
    return nfa.edges.length - 1
  }
  const empty = (from: number, to: number) => nfa.empties[from]!.push(to)
  const sets = new Map<string, Uint8Array>()
  const setOf = (atom: string): Uint8Array => {
    let set = sets.get(atom)
    if (set === undefined) {
      let re: RegExp
      try {
        re = new RegExp(`^(?:${atom})$`, flags)
      } catch {
        throw new NotRegular()
      }
      set = new Uint8Array(128).map((_, c) => (re.test(String.fromCharCode(c)) ? 1 : 0))
      sets.set(atom, set)
    }
    return set
  }
  const ALL = new Uint8Array(128).fill(1)
  const single = (set: Uint8Array): Fragment => {
    const start = node()
    const end = node()
    nfa.edges[start]!.push([set, end])
    return { start, end }
  }

  let i = 0
  const anchoredStart = source.startsWith('^')
  if (anchoredStart) i = 1
  let stop = source.length
  // A final '$' not escaped (an odd run of backslashes before it escapes it).
  let slashes = 0
  while (stop - 2 - slashes >= i && source[stop - 2 - slashes] === '\\') slashes++
  const anchoredEnd = stop > i && source[stop - 1] === '$' && slashes % 2 === 0
  if (anchoredEnd) stop--

  /** Whether the last alternation read had more than one branch. */
  let branched = false

  function alternation(): Fragment {
    const branches = [sequence()]
    while (i < stop && source[i] === '|') {
      i++
      branches.push(sequence())
    }
    branched = branches.length > 1
    if (branches.length === 1) return branches[0]!
    const start = node()
    const end = node()
    for (const b of branches) {
      empty(start, b.start)
      empty(b.end, end)
    }
    return { start, end }
  }

  function sequence(): Fragment {
    const start = node()
    let last = start
    while (i < stop && source[i] !== '|' && source[i] !== ')') {
      const make = atom()
      const { min, max } = quantifier()
      if (max === 0) continue
      // min copies, then (max - min) optional ones, or a loop when unbounded.
      for (let k = 0; k < min; k++) {
        const f = make()
        empty(last, f.start)
        last = f.end
      }
      if (max === Infinity) {
        const f = make()
        const loop = node()
        empty(last, loop)
        empty(loop, f.start)
        empty(f.end, loop)
        last = loop
      } else {
        const after = node()
        for (let k = min; k < max; k++) {
          const f = make()
          empty(last, f.start)
          empty(last, after)
          last = f.end
        }
        empty(last, after)
        last = after
      }
    }
    return { start, end: last }
  }

  /** Reads one atom; returns a function making a fresh copy of its fragment (quantifiers need several). */
  function atom(): () => Fragment {
    const c = source[i]!
    if (c === '(') {
      let groupStart = i + 1
      if (source.startsWith('(?:', i)) groupStart = i + 3
      else if (source[i + 1] === '?') throw new NotRegular() // lookaround, named groups, modifiers
      const inner = source.slice(groupStart)
      i = groupStart
      const before = i
      alternation()
      if (source[i] !== ')') throw new NotRegular()
      const text = inner.slice(0, i - before)
      i++
      // Re-parse the group's text for each copy: fragments are made fresh.
      return () => sub(text)
    }
    if (c === '[') {
      let j = i + 1
      if (source[j] === '^') j++
      while (j < stop && source[j] !== ']') j += source[j] === '\\' ? 2 : 1
      if (j >= stop) throw new NotRegular()
      const set = setOf(source.slice(i, j + 1))
      i = j + 1
      return () => single(set)
    }
    if (c === '\\') {
      const e = source[i + 1]
      if (e === undefined) throw new NotRegular()
      let length = 2
      if (e === 'x') length = 4
      else if (e === 'u') length = 6
      else if (!/[dDwWsStnrfv]/.test(e) && /[0-9A-Za-z]/.test(e)) throw new NotRegular() // \b, \1, \k, \c, \p, ...
      // \x and \u with their hex digits, else (outside the u flag) they would be other atoms.
      if (length > 2 && (i + length > stop || !/^[0-9A-Fa-f]+$/.test(source.slice(i + 2, i + length)))) {
        throw new NotRegular()
      }
      const set = setOf(source.slice(i, i + length))
      i += length
      return () => single(set)
    }
    if ('^$*+?{}])|'.includes(c)) throw new NotRegular()
    const set = c === '.' ? setOf('.') : setOf(c)
    i++
    return () => single(set)
  }

  /** A group's text as a fresh fragment. */
  function sub(text: string): Fragment {
    const saved = [i, stop] as const
    const whole = source
    source = text
    i = 0
    stop = text.length
    const f = alternation()
    if (i !== stop) throw new NotRegular()
    source = whole
    ;[i, stop] = saved
    return f
  }

  function quantifier(): { min: number; max: number } {
    const c = source[i]
    let min = 1
    let max = 1
    if (c === '*' || c === '+' || c === '?') {
      min = c === '+' ? 1 : 0
      max = c === '?' ? 1 : Infinity
      i++
    } else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i, stop))
      if (m === null) throw new NotRegular()
      min = Number(m[1])
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3])
      if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT) || max < min) throw new NotRegular()
      i += m[0].length
    } else {
      return { min, max }
    }
    if (source[i] === '?') i++ // lazy: the same strings match
    const after = source[i]
    if (i < stop && after !== undefined && '*+?{'.includes(after)) throw new NotRegular()
    return { min, max }
  }

  const body = alternation()
  if (i !== stop) throw new NotRegular()
  // '^a|b$' anchors each branch at one end only: not this shape.
  if (branched && (anchoredStart || anchoredEnd)) throw new NotRegular()
  // Unanchored ends: any text may come before or after a match.
  let start = body.start
  let end = body.end
  if (!anchoredStart) {
    const any = single(ALL)
    start = node()
    empty(start, body.start)
    empty(start, any.start)
    empty(any.end, start)
  }
  if (!anchoredEnd) {
    const any = single(ALL)
    const after = node()
    empty(end, after)
    empty(after, any.start)
    empty(any.end, after)
    end = after
  }
  return determinize(nfa, start, end)
}

/** The subset construction: a table of 128 next states per state; state 0 is the dead state. */
function determinize(nfa: Nfa, start: number, final: number): AsciiMatcher {
  const closure = (nodes: Iterable<number>): number[] => {
    const seen = new Set<number>()
    const stack = [...nodes]
    while (stack.length > 0) {
      const n = stack.pop()!
      if (seen.has(n)) continue
      seen.add(n)
      stack.push(...nfa.empties[n]!)
    }
    return [...seen].sort((a, b) => a - b)
  }
  const ids = new Map<string, number>([['', 0]])
  const states: number[][] = [[]]
  const table: number[] = new Array(128).fill(0)
  const accepting: boolean[] = [false]
  const queue: number[] = []
  const idOf = (set: number[]): number => {
    const key = set.join(',')
    let id = ids.get(key)
    if (id === undefined) {
      id = states.length
      if (id >= MAX_STATES) throw new NotRegular()
      ids.set(key, id)
      states.push(set)
      accepting.push(set.includes(final))
      for (let c = 0; c < 128; c++) table.push(0)
      queue.push(id)
    }
    return id
  }
  const first = idOf(closure([start]))
  // The states reached on each character, before the closure: characters with the same targets share one lookup.
  const reached = new Map<string, number>()
  const targets: number[][] = Array.from({ length: 128 }, () => [])
  while (queue.length > 0) {
    const id = queue.shift()!
    for (let c = 0; c < 128; c++) targets[c]!.length = 0
    for (const n of states[id]!) {
      for (const [chars, to] of nfa.edges[n]!) for (let c = 0; c < 128; c++) if (chars[c] === 1) targets[c]!.push(to)
    }
    for (let c = 0; c < 128; c++) {
      const raw = targets[c]!
      if (raw.length === 0) continue
      const key = raw.join(',')
      let to = reached.get(key)
      if (to === undefined) {
        to = idOf(closure(raw))
        reached.set(key, to)
      }
      table[id * 128 + c] = to
    }
  }
  const next = Uint8Array.from(table)
  const accepts = Uint8Array.from(accepting, (a) => (a ? 1 : 0))
  return (buf, startAt, endAt) => {
    let s = first
    for (let p = startAt; p < endAt && s !== 0; p++) {
      const c = buf[p]!
      // Only ASCII text is asked about; a byte over 0x7f is no character of it.
      if (c >= 128) return false
      s = next[s * 128 + c]!
    }
    return accepts[s] === 1
  }
}
