import { isUtf8 } from 'node:buffer'

/**
 * The JSON grammar of RFC 8259 (https://www.rfc-editor.org/rfc/rfc8259), read over UTF-8 bytes without building
 * anything: each function takes the position where a token starts and returns the position right after it, or -1
 * when the bytes are not certainly that token. The payload is `buf[start, end)` (beginPayload), which may lie inside a
 * larger buffer (a record's value in its batch): nothing at or after `end` is ever read, since the bytes there are the
 * next record's and could otherwise seem to continue a number or close a string. It accepts only what JSON.parse accepts too (ECMA-262 JSON.parse reads
 * the same grammar: ECMA-404), so a document it reads to the end parses.
 *
 * Side results (the last string's shape, the last number's value) are kept in module variables so that reading a
 * token allocates nothing; the walker reads them right after the call.
 */

/** Bytes a string may hold as they are (RFC 8259 section 7: unescaped = %x20-21 / %x23-5B / %x5D-10FFFF). */
const PLAIN = 0
const QUOTE = 1
const BACKSLASH = 2
const CONTROL = 3
const NON_ASCII = 4
const STRING_CLASS = new Uint8Array(256).map((_, b) =>
  b === 0x22 ? QUOTE : b === 0x5c ? BACKSLASH : b < 0x20 ? CONTROL : b >= 0x80 ? NON_ASCII : PLAIN,
)

/** The last string scanString read held an escape sequence. */
export let stringEscaped = false
/** The last string scanString read held bytes over 0x7f (then the whole payload is known to be well-formed UTF-8). */
export let stringNonAscii = false

/**
 * Whether the payload being walked has been found well-formed UTF-8 (RFC 3629). Buffer#toString('utf8') replaces
 * ill-formed sequences with U+FFFD and JSON.parse would accept the result, so a string with such bytes would not be
 * the string the bytes seem to say: those payloads are never certain. Checked once per payload, at its first byte
 * over 0x7f.
 */
let utf8State = 0 // 0 unknown, 1 well-formed, -1 not

/**
 * The payload's memory as 32-bit words for scanString, kept while payloads come from the same ArrayBuffer (the
 * records of a batch do), since making a DataView costs about as much as scanning a short string. It holds on to
 * that one ArrayBuffer until a payload from another one comes.
 */
let words: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0))
/** The ArrayBuffer under `words`, kept apart: reading DataView#buffer per payload costs more than this comparison. */
let wordsBuffer: ArrayBufferLike = words.buffer
/** Where the payload starts in `words`. */
let wordsBase = 0

/** Where the payload being walked starts and ends in its buffer. */
let payloadStart = 0
let payloadEnd = 0

/** Sets up the per-payload state for `buf[start, end)`; called before each payload is walked. */
export function beginPayload(buf: Buffer, start: number, end: number): void {
  utf8State = 0
  payloadStart = start
  payloadEnd = end
  const buffer = buf.buffer
  if (buffer !== wordsBuffer) {
    words = new DataView(buffer)
    wordsBuffer = buffer
  }
  wordsBase = buf.byteOffset
}

/** The end of the payload being walked (exclusive): the walk's bound wherever a token may end. */
export function endOfPayload(): number {
  return payloadEnd
}

/** The byte at `pos`, or -1 at or past the payload's end: for the structural bytes read after a token or space. */
export function peek(buf: Buffer, pos: number): number {
  return pos < payloadEnd ? buf[pos]! : -1
}

function wellFormedUtf8(buf: Buffer): boolean {
  if (utf8State === 0) {
    const whole = payloadStart === 0 && payloadEnd === buf.length
    utf8State = isUtf8(whole ? buf : buf.subarray(payloadStart, payloadEnd)) ? 1 : -1
  }
  return utf8State === 1
}

/**
 * Non-zero when one of four bytes (a 32-bit word, in either byte order) needs a look inside a string: one below 0x20,
 * a '"' (0x22), a '\\' (0x5c) or one over 0x7f. The last is the top bit of a byte of w itself. When no byte is over
 * 0x7f, the others are the word-at-a-time tests "some byte of x is below n iff (x - n * 0x01010101) & 0x80808080 != 0"
 * (a byte equal to c being one below 1 in x ^ c * 0x01010101), exact for the question "is there any": with every byte
 * of x under 0x80 and none below n, no byte borrows and none reaches its top bit; the lowest one below n sets its top
 * bit. (The general form also masks with ~x, which only matters for bytes over 0x7f, already found by w.) Two words a
 * step: the loop's own cost is about that of one word's test.
 */
function notPlain(w: number): number {
  return (w | (w - 0x20202020) | ((w ^ 0x22222222) - 0x01010101) | ((w ^ 0x5c5c5c5c) - 0x01010101)) & 0x80808080
}

/** Skips the four whitespace bytes of RFC 8259 section 2 (space, tab, LF, CR); JSON.parse allows the same set. */
export function skipSpace(buf: Buffer, pos: number): number {
  const n = payloadEnd
  // The four are all at most 0x20: one comparison lets the usual case, no space at all, through.
  while (pos < n && buf[pos]! <= 0x20) {
    const b = buf[pos]!
    if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) break
    pos++
  }
  return pos
}

function isHex(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
}

/**
 * A string (RFC 8259 section 7) starting at its opening quote: unescaped bytes from 0x20 on except '"' and '\',
 * escapes \" \\ \/ \b \f \n \r \t and \uXXXX (any four hex digits: JSON.parse takes lone surrogates too).
 * Sets stringEscaped and stringNonAscii. Refuses anything but a string, so a step for strings needs no other check.
 */
export function scanString(buf: Buffer, pos: number): number {
  if (pos >= payloadEnd || buf[pos] !== 0x22) return -1
  return scanStringBody(buf, pos + 1)
}

/**
 * scanString from `from`, a position inside a string's body all of whose bytes before it are plain ASCII (the
 * generated walk reads a string's first bytes itself).
 */
export function scanStringBody(buf: Buffer, from: number): number {
  const n = payloadEnd
  const view = words
  const base = wordsBase
  let p = from
  // Eight bytes a step; in the word where the string stops being plain, the first such byte is found from the mask
  // (firstFlagged), so a string's last bytes need no loop of their own.
  for (;;) {
    if (p + 8 > n) {
      // The payload's last bytes: one at a time.
      while (p < n && STRING_CLASS[buf[p]!] === PLAIN) p++
      break
    }
    const low = notPlain(view.getInt32(base + p, true))
    if (low !== 0) {
      p += firstFlagged(low)
      break
    }
    const high = notPlain(view.getInt32(base + p + 4, true))
    if (high !== 0) {
      p += 4 + firstFlagged(high)
      break
    }
    p += 8
  }
  if (p < n && buf[p] === 0x22) {
    stringEscaped = false
    stringNonAscii = false
    return p + 1
  }
  return scanStringRest(buf, p)
}

/**
 * The index (0 to 3) of the first byte in memory a non-zero notPlain mask flags, for a word read little-endian (the
 * first byte the lowest). The lowest flag is exact: below the first byte that is not plain nothing borrows, so that
 * byte's own flag is the lowest (flags above it may be false). m & -m keeps the lowest bit; clz32 finds it.
 */
function firstFlagged(mask: number): number {
  return (31 - Math.clz32(mask & -mask)) >> 3
}

/** Whether the last string scanString or scanStringBody read was ASCII without escapes. */
export function lastStringPlain(): boolean {
  return !stringEscaped && !stringNonAscii
}

/** The rest of a string from its first byte that is not plain: escapes, non-ASCII, or a byte that ends it badly. */
function scanStringRest(buf: Buffer, from: number): number {
  const n = payloadEnd
  let p = from
  let escaped = false
  let nonAscii = false
  for (;;) {
    while (p < n && STRING_CLASS[buf[p]!] === PLAIN) p++
    if (p >= n) return -1
    const cls = STRING_CLASS[buf[p]!]
    if (cls === QUOTE) break
    if (cls === CONTROL) return -1
    if (cls === NON_ASCII) {
      if (!wellFormedUtf8(buf)) return -1
      nonAscii = true
      p++
      continue
    }
    // A backslash: one of the escapes above.
    escaped = true
    if (p + 1 >= n) return -1
    const e = buf[p + 1]!
    if (e === 0x75) {
      if (p + 5 >= n || !isHex(buf[p + 2]!) || !isHex(buf[p + 3]!) || !isHex(buf[p + 4]!) || !isHex(buf[p + 5]!)) {
        return -1
      }
      p += 6
    } else if (
      e === 0x22 ||
      e === 0x5c ||
      e === 0x2f ||
      e === 0x62 ||
      e === 0x66 ||
      e === 0x6e ||
      e === 0x72 ||
      e === 0x74
    ) {
      p += 2
    } else {
      return -1
    }
  }
  stringEscaped = escaped
  stringNonAscii = nonAscii
  return p + 1
}

/** The value of the last number scanNumber read (finite: others are not certain). */
export let numberValue = 0

/** Digits beyond which a number's value is computed by Number() (2^53 > 10^15: fifteen digits sum exactly). */
const EXACT_DIGITS = 15
/**
 * ECMA-262 (RoundMVResult) lets an implementation round a numeral of more than 20 significant digits either way, for
 * the literal JSON.parse evaluates as for Number(): the two could disagree there, so such numbers are not certain.
 */
const MAX_DIGITS = 20

/**
 * A number (RFC 8259 section 6): [ "-" ] ( "0" / digit1-9 *digit ) [ "." 1*digit ] [ ( "e" / "E" ) [ "+" / "-" ]
 * 1*digit ]. No leading zeros, no "+", no bare "-", "." or exponent. Sets numberValue to what JSON.parse makes of it.
 */
export function scanNumber(buf: Buffer, pos: number): number {
  // The common number, a small non-negative integer, in as little code as can be inlined.
  const n = payloadEnd
  let b = pos < n ? buf[pos]! : -1
  if (b >= 0x31 && b <= 0x39) {
    let value = 0
    let p = pos
    do {
      value = value * 10 + (b - 0x30)
      b = ++p < n ? buf[p]! : -1
    } while (b >= 0x30 && b <= 0x39 && p - pos < EXACT_DIGITS)
    // At the end b is -1, which is none of these.
    if (b !== 0x2e && b !== 0x65 && b !== 0x45 && !(b >= 0x30 && b <= 0x39)) {
      numberValue = value
      return p
    }
  }
  return scanAnyNumber(buf, pos)
}

/** Any number of the grammar, by its parts. */
function scanAnyNumber(buf: Buffer, pos: number): number {
  const n = payloadEnd
  let p = pos
  const negative = peek(buf, p) === 0x2d
  if (negative) p++
  // int: "0" alone, or a nonzero digit and more digits (summed exactly while there are at most EXACT_DIGITS).
  let value = 0
  const intStart = p
  if (peek(buf, p) === 0x30) {
    p++
  } else {
    while (p < n && isDigit(buf[p]!)) {
      value = value * 10 + (buf[p]! - 0x30)
      p++
    }
    if (p === intStart) return -1
  }
  let digits = p - intStart
  let simple = true
  if (peek(buf, p) === 0x2e) {
    simple = false
    const fracStart = ++p
    while (p < n && isDigit(buf[p]!)) p++
    if (p === fracStart) return -1
    digits += p - fracStart
  }
  const e = peek(buf, p)
  if (e === 0x65 || e === 0x45) {
    simple = false
    p++
    const sign = peek(buf, p)
    if (sign === 0x2b || sign === 0x2d) p++
    const expStart = p
    while (p < n && isDigit(buf[p]!)) p++
    if (p === expStart) return -1
  }
  if (simple && digits <= EXACT_DIGITS) {
    numberValue = negative ? -value : value
    return p
  }
  if (digits > MAX_DIGITS) return -1
  const v = Number(buf.toString('latin1', pos, p))
  if (!Number.isFinite(v)) return -1
  numberValue = v
  return p
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39
}

/** Whether the bytes at `pos` are exactly `literal` (true, false, null: RFC 8259 section 3, lowercase only). */
export function matchLiteral(buf: Buffer, pos: number, literal: Uint8Array): number {
  if (pos + literal.length > payloadEnd) return -1
  for (let i = 0; i < literal.length; i++) if (buf[pos + i] !== literal[i]) return -1
  return pos + literal.length
}

export const TRUE = new Uint8Array([0x74, 0x72, 0x75, 0x65])
export const FALSE = new Uint8Array([0x66, 0x61, 0x6c, 0x73, 0x65])
export const NULL = new Uint8Array([0x6e, 0x75, 0x6c, 0x6c])

/** Nesting beyond which a document is left to JSON.parse (the walk recurses; a deep one would exhaust the stack). */
export const MAX_DEPTH = 256

/** Any value, checked only for the grammar (a subschema that accepts everything still needs a parsable value). */
export function skipValue(buf: Buffer, pos: number, depth: number): number {
  if (pos >= payloadEnd || depth > MAX_DEPTH) return -1
  const b = buf[pos]!
  if (b === 0x22) return scanString(buf, pos)
  if (b === 0x7b || b === 0x5b) {
    const close = b === 0x7b ? 0x7d : 0x5d
    let p = skipSpace(buf, pos + 1)
    if (peek(buf, p) === close) return p + 1
    for (;;) {
      if (b === 0x7b) {
        p = scanString(buf, p)
        if (p < 0) return -1
        p = skipSpace(buf, p)
        if (peek(buf, p) !== 0x3a) return -1
        p = skipSpace(buf, p + 1)
      }
      p = skipValue(buf, p, depth + 1)
      if (p < 0) return -1
      p = skipSpace(buf, p)
      const sep = peek(buf, p)
      if (sep === close) return p + 1
      if (sep !== 0x2c) return -1
      p = skipSpace(buf, p + 1)
    }
  }
  if (b === 0x74) return matchLiteral(buf, pos, TRUE)
  if (b === 0x66) return matchLiteral(buf, pos, FALSE)
  if (b === 0x6e) return matchLiteral(buf, pos, NULL)
  return scanNumber(buf, pos)
}

/**
 * The string value of the string token [start, end) (quotes included), exactly as JSON.parse makes it of
 * payload.toString('utf8'): without escapes, the same UTF-8 decoding of the bytes between the quotes (ASCII as
 * latin1, the same characters); with escapes, JSON.parse of the token itself.
 */
export function stringValue(buf: Buffer, start: number, end: number, escaped: boolean, nonAscii: boolean): string {
  if (!escaped) return buf.toString(nonAscii ? 'utf8' : 'latin1', start + 1, end - 1)
  return JSON.parse(buf.toString('utf8', start, end)) as string
}
