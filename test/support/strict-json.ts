/**
 * A JSON parser that rejects what JSON.parse lets through: the same name twice in one object. RFC 8259 section 4
 * says names SHOULD be unique and leaves duplicates' meaning to each reader; JSON.parse keeps the last, strict
 * readers (and log pipelines built on them) reject the document. Log lines must pass this one. Otherwise it
 * accepts exactly RFC 8259 JSON (section 2: whitespace; 6: numbers; 7: strings and escapes).
 */

export class StrictJsonError extends Error {
  /** Character offset in the text. */
  readonly offset: number
  constructor(message: string, offset: number) {
    super(`${message} (at character ${offset})`)
    this.name = 'StrictJsonError'
    this.offset = offset
  }
}

export class DuplicateKeyError extends StrictJsonError {
  /** The repeated name, and where its object is in the document (`$`, `$.err`, `$.topics[2]`). */
  readonly key: string
  readonly path: string
  constructor(key: string, path: string, offset: number) {
    super(`duplicate key ${JSON.stringify(key)} in the object at ${path}`, offset)
    this.name = 'DuplicateKeyError'
    this.key = key
    this.path = path
  }
}

export function parseStrictJson(text: string): unknown {
  const p = new Parser(text)
  p.space()
  const value = p.value('$')
  p.space()
  if (p.at < text.length) throw new StrictJsonError('unexpected text after the JSON value', p.at)
  return value
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
}

class Parser {
  at = 0
  constructor(private readonly text: string) {}

  space(): void {
    while (this.at < this.text.length) {
      const c = this.text.charCodeAt(this.at)
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return
      this.at++
    }
  }

  value(path: string): unknown {
    const c = this.text[this.at]
    if (c === '{') return this.object(path)
    if (c === '[') return this.array(path)
    if (c === '"') return this.string()
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number()
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length
        return v
      }
    }
    throw new StrictJsonError(c === undefined ? 'unexpected end of text' : `unexpected ${JSON.stringify(c)}`, this.at)
  }

  private object(path: string): Record<string, unknown> {
    this.at++ // {
    const out: Record<string, unknown> = {}
    const seen = new Set<string>()
    this.space()
    if (this.text[this.at] === '}') {
      this.at++
      return out
    }
    for (;;) {
      this.space()
      if (this.text[this.at] !== '"') throw new StrictJsonError('expected a name in double quotes', this.at)
      const keyAt = this.at
      const key = this.string()
      if (seen.has(key)) throw new DuplicateKeyError(key, path, keyAt)
      seen.add(key)
      this.space()
      this.expect(':')
      this.space()
      const child = /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`
      // Defined as own data properties: a "__proto__" name must not set the prototype.
      Object.defineProperty(out, key, {
        value: this.value(child),
        enumerable: true,
        writable: true,
        configurable: true,
      })
      this.space()
      if (this.text[this.at] === ',') {
        this.at++
        continue
      }
      this.expect('}')
      return out
    }
  }

  private array(path: string): unknown[] {
    this.at++ // [
    const out: unknown[] = []
    this.space()
    if (this.text[this.at] === ']') {
      this.at++
      return out
    }
    for (;;) {
      this.space()
      out.push(this.value(`${path}[${out.length}]`))
      this.space()
      if (this.text[this.at] === ',') {
        this.at++
        continue
      }
      this.expect(']')
      return out
    }
  }

  private string(): string {
    this.at++ // opening quote
    let out = ''
    let from = this.at
    for (;;) {
      if (this.at >= this.text.length) throw new StrictJsonError('unterminated string', this.at)
      const c = this.text.charCodeAt(this.at)
      if (c === 0x22) {
        out += this.text.slice(from, this.at)
        this.at++
        return out
      }
      if (c < 0x20) throw new StrictJsonError('control character in a string (it must be escaped)', this.at)
      if (c !== 0x5c) {
        this.at++
        continue
      }
      out += this.text.slice(from, this.at)
      const e = this.text[this.at + 1]
      if (e === 'u') {
        const hex = this.text.slice(this.at + 2, this.at + 6)
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new StrictJsonError('bad \\u escape', this.at)
        out += String.fromCharCode(Number.parseInt(hex, 16))
        this.at += 6
      } else if (e !== undefined && ESCAPES[e] !== undefined) {
        out += ESCAPES[e]
        this.at += 2
      } else {
        throw new StrictJsonError(`bad escape \\${e ?? ''}`, this.at)
      }
      from = this.at
    }
  }

  private number(): number {
    NUMBER.lastIndex = this.at
    const m = NUMBER.exec(this.text)
    if (m === null) throw new StrictJsonError('bad number', this.at)
    this.at += m[0].length
    return Number(m[0])
  }

  private expect(c: string): void {
    if (this.text[this.at] !== c) {
      const got = this.text[this.at]
      throw new StrictJsonError(
        `expected ${JSON.stringify(c)}, got ${got === undefined ? 'the end' : JSON.stringify(got)}`,
        this.at,
      )
    }
    this.at++
  }
}
