import type { FieldDef, FieldType, MessageDef, StructDef } from './spec.js'
import { type Versions, versionCondition } from './versions.js'

/**
 * Emits one TypeScript module for one spec file: an interface per struct, and per struct a
 * read / size / write function that handles every version in one body, switching on `version` only
 * where the layout differs (the same shape as Kafka's generated Java, MessageDataGenerator.java).
 *
 * Semantics that matter for byte-exactness:
 * - Fields absent from the decoded version are `undefined` (the interface marks them optional).
 * - Tagged fields are `undefined` when absent from the wire and written whenever they are set, so a
 *   field that arrived carrying its default value is written back too (decode -> encode is identical).
 * - Unknown tagged fields are kept raw in `_unknownTaggedFields` and written back in tag order.
 * - Encoding a non-ignorable field that the target version cannot carry throws FieldNotInVersionError
 *   instead of silently dropping it (Kafka's generated writers throw UnsupportedVersionException).
 */

const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA'

const FIXED_SIZE: Record<string, number> = {
  bool: 1,
  int8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  float64: 8,
  uuid: 16,
}

class Code {
  private readonly lines: string[] = []
  private depth = 0

  line(text = ''): this {
    this.lines.push(text === '' ? '' : '  '.repeat(this.depth) + text)
    return this
  }

  open(text: string): this {
    this.line(text)
    this.depth++
    return this
  }

  close(text = '}'): this {
    this.depth--
    this.line(text)
    return this
  }

  /** Closes one block and opens the next at the same depth: `} else {`. */
  reopen(text: string): this {
    this.depth--
    this.line(text)
    this.depth++
    return this
  }

  toString(): string {
    return this.lines.join('\n')
  }
}

export function tsType(t: FieldType): string {
  switch (t.kind) {
    case 'bool':
      return 'boolean'
    case 'int64':
      return 'bigint'
    case 'uuid':
    case 'string':
      return 'string'
    case 'bytes':
    case 'records':
      return 'Buffer'
    case 'struct':
      return t.struct.tsName
    case 'array':
      return `${tsType(t.element)}[]`
    default:
      return 'number'
  }
}

/** Everything one field needs to know about the versions of the struct it lives in. */
interface FieldPlan {
  f: FieldDef
  /** Versions (within the struct's) in which the field is on the wire as a regular field. */
  mandatory: Versions
  /** Versions (within the struct's flexible versions) in which it is a tagged field. */
  tagged: Versions
  /** Versions in which it may be null. */
  nullable: Versions
  /** Expression for "this field uses the compact (flexible) encoding". */
  flex: string
}

export class MessageEmitter {
  private readonly code = new Code()
  private readonly usedImports = new Set<string>()

  constructor(private readonly msg: MessageDef) {}

  emit(): { body: string; imports: Set<string> } {
    for (const s of this.msg.structs) this.emitInterface(s)
    for (const s of this.msg.structs) {
      this.emitRead(s)
      this.emitSkip(s)
      this.emitSize(s)
      this.emitWrite(s)
    }
    return { body: this.code.toString(), imports: this.usedImports }
  }

  private structFlexible(s: StructDef): Versions {
    return this.msg.flexibleVersions.intersect(s.versions)
  }

  private plan(s: StructDef, f: FieldDef): FieldPlan {
    const present = f.versions.intersect(s.versions)
    const tagged = f.taggedVersions.intersect(present).intersect(this.structFlexible(s))
    const mandatory = present.subtract(tagged)
    const flexVersions = f.flexibleVersions
      ? f.flexibleVersions.intersect(this.msg.flexibleVersions)
      : this.msg.flexibleVersions
    const flexCond = versionCondition(flexVersions, mandatory.empty ? s.versions : mandatory)
    return {
      f,
      mandatory,
      tagged,
      nullable: f.nullableVersions.intersect(present),
      flex: f.flexibleVersions ? flexCond : 'flexible',
    }
  }

  // ---------------------------------------------------------------- interfaces

  private emitInterface(s: StructDef): void {
    const c = this.code
    const flexible = this.structFlexible(s)
    c.line()
    c.line(
      `/** ${s.tsName === this.msg.name ? `${this.msg.name}, versions ${this.msg.validVersions}.` : `${s.specName} in ${this.msg.name}.`} */`,
    )
    c.open(`export interface ${s.tsName} {`)
    for (const f of s.fields) {
      const p = this.plan(s, f)
      if (p.mandatory.empty && p.tagged.empty) continue
      const optional = !p.mandatory.covers(s.versions) || !p.tagged.empty
      const nullable = !p.nullable.empty
      const notes = [`Versions ${f.versions.intersect(s.versions)}`]
      if (nullable) notes.push(`nullable ${p.nullable}`)
      if (!p.tagged.empty) notes.push(`tagged (tag ${f.tag}) ${p.tagged}`)
      if (f.entityType) notes.push(`entity ${f.entityType}`)
      if (f.default !== undefined) notes.push(`default ${f.default}`)
      if (f.ignorable) notes.push('ignorable')
      const about = f.about ? `${f.about.replace(/\*\//g, '* /').trim()} ` : ''
      c.line(`/** ${about}(${notes.join('; ')}) */`)
      c.line(`${f.prop}${optional ? '?' : ''}: ${tsType(f.type)}${nullable ? ' | null' : ''}`)
    }
    if (!flexible.empty) {
      this.usedImports.add('RawTaggedField')
      c.line('/** Tagged fields this codec has no definition for, kept raw so re-encoding is lossless. */')
      c.line('_unknownTaggedFields?: RawTaggedField[]')
    }
    c.close()
  }

  // ---------------------------------------------------------------- array helpers

  private arrayHelperName(s: StructDef, f: FieldDef, op: 'read' | 'size' | 'write'): string {
    return `${op}${s.tsName}$${f.prop}`
  }

  private elementRead(t: FieldType, flex: string, what: string): string {
    switch (t.kind) {
      case 'string':
        return `r.string(${flex}, '${what}')`
      case 'bytes':
        return `r.bytes(${flex}, '${what}')`
      case 'struct':
        return `read${t.struct.tsName}(r, version)`
      case 'records':
      case 'array':
        throw new Error(`${this.msg.name}: arrays of ${t.kind} are not supported`)
      default:
        return `r.${t.kind}()`
    }
  }

  private elementWrite(t: FieldType, flex: string, v: string): string {
    switch (t.kind) {
      case 'string':
        return `w.string(${flex}, ${v})`
      case 'bytes':
        return `w.bytes(${flex}, ${v})`
      case 'struct':
        return `write${t.struct.tsName}(w, ${v}, version)`
      default:
        return `w.${t.kind}(${v})`
    }
  }

  private elementSize(t: FieldType, flex: string, v: string): string {
    switch (t.kind) {
      case 'string':
        this.usedImports.add('sizeOfString')
        return `sizeOfString(${flex}, ${v})`
      case 'bytes':
        this.usedImports.add('sizeOfBytes')
        return `sizeOfBytes(${flex}, ${v})`
      case 'struct':
        return `size${t.struct.tsName}(${v}, version)`
      default:
        return String(FIXED_SIZE[t.kind])
    }
  }

  /** Module-level read/size/write helpers for one array field: keeps the struct functions flat. */
  private emitArrayHelpers(s: StructDef, f: FieldDef): void {
    if (f.type.kind !== 'array') return
    const c = this.code
    const el = f.type.element
    const elType = tsType(el)
    const what = `${s.specName}.${f.name}`
    this.usedImports.add('Reader')
    this.usedImports.add('Writer')
    this.usedImports.add('sizeOfArrayLength')
    this.usedImports.add('InvalidFieldError')
    const usesVersion = el.kind === 'struct'
    const v = usesVersion ? 'version' : '_version'

    c.line()
    c.open(
      `function ${this.arrayHelperName(s, f, 'read')}(r: Reader, ${v}: number, flexible: boolean, nullable: boolean): ${elType}[] | null {`,
    )
    c.line(`const n = r.arrayLength(flexible, nullable, '${what}')`)
    c.line('if (n < 0) return null')
    c.line(`const a: ${elType}[] = new Array(n)`)
    c.line(`for (let i = 0; i < n; i++) a[i] = ${this.elementRead(el, 'flexible', `${what}[]`)}`)
    c.line('return a')
    c.close()

    c.line()
    c.open(
      `function ${this.arrayHelperName(s, f, 'size')}(a: ${elType}[] | null, ${v}: number, flexible: boolean): number {`,
    )
    c.line('if (a === null) return sizeOfArrayLength(flexible, -1)')
    const fixed = FIXED_SIZE[el.kind]
    if (fixed !== undefined) {
      c.line(`return sizeOfArrayLength(flexible, a.length) + a.length * ${fixed}`)
    } else {
      c.line('let size = sizeOfArrayLength(flexible, a.length)')
      c.line(`for (let i = 0; i < a.length; i++) size += ${this.elementSize(el, 'flexible', 'a[i]!')}`)
      c.line('return size')
    }
    c.close()

    c.line()
    c.open(
      `function ${this.arrayHelperName(s, f, 'write')}(w: Writer, a: ${elType}[] | null | undefined, ${v}: number, flexible: boolean, nullable: boolean): void {`,
    )
    c.open('if (a === null || a === undefined) {')
    c.line(`if (!nullable || a === undefined) throw new InvalidFieldError('non-nullable array ${what} is ' + a)`)
    c.line('w.arrayLength(flexible, -1)')
    c.line('return')
    c.close()
    c.line('w.arrayLength(flexible, a.length)')
    c.line(`for (let i = 0; i < a.length; i++) ${this.elementWrite(el, 'flexible', 'a[i]!')}`)
    c.close()
  }

  // ---------------------------------------------------------------- read

  /** Expression reading one regular (untagged) value. */
  private readExpr(s: StructDef, p: FieldPlan, possible: Versions): string {
    const { f } = p
    const nullCond = versionCondition(p.nullable, possible)
    const what = `${s.specName}.${f.name}`
    const pick = (nullableExpr: string, plainExpr: string) =>
      nullCond === 'true'
        ? nullableExpr
        : nullCond === 'false'
          ? plainExpr
          : `(${nullCond} ? ${nullableExpr} : ${plainExpr})`
    switch (f.type.kind) {
      case 'string':
        return pick(`r.nullableString(${p.flex}, '${what}')`, `r.string(${p.flex}, '${what}')`)
      case 'bytes':
        return pick(`r.nullableBytes(${p.flex}, '${what}')`, `r.bytes(${p.flex}, '${what}')`)
      case 'records':
        return pick(`r.nullableRecords(${p.flex}, '${what}')`, `r.records(${p.flex}, '${what}')`)
      case 'struct': {
        const read = `read${f.type.struct.tsName}(r, version)`
        return pick(`(r.int8() < 0 ? null : ${read})`, read)
      }
      case 'array': {
        const call = `${this.arrayHelperName(s, f, 'read')}(r, version, ${p.flex}, ${nullCond})`
        return nullCond === 'false' ? `${call} as ${tsType(f.type)}` : call
      }
      default:
        return `r.${f.type.kind}()`
    }
  }

  /** Statements reading a tagged value of `size` bytes into `$prop`. */
  private readTagged(s: StructDef, p: FieldPlan): string {
    const { f } = p
    const nullable = !p.nullable.empty
    const what = `${s.specName}.${f.name}`
    switch (f.type.kind) {
      case 'string':
        return nullable ? `r.nullableString(true, '${what}')` : `r.string(true, '${what}')`
      case 'bytes':
        return nullable ? `r.nullableBytes(true, '${what}')` : `r.bytes(true, '${what}')`
      case 'records':
        return nullable ? `r.nullableRecords(true, '${what}')` : `r.records(true, '${what}')`
      case 'struct': {
        const read = `read${f.type.struct.tsName}(r, version)`
        return nullable ? `(r.uvarint() === 0 ? null : ${read})` : read
      }
      case 'array': {
        const call = `${this.arrayHelperName(s, f, 'read')}(r, version, true, ${nullable})`
        return nullable ? call : `${call} as ${tsType(f.type)}`
      }
      default:
        return `r.${f.type.kind}()`
    }
  }

  private emitRead(s: StructDef): void {
    const plans = s.fields.map((f) => this.plan(s, f)).filter((p) => !p.mandatory.empty || !p.tagged.empty)
    for (const p of plans) this.emitArrayHelpers(s, p.f)
    this.usedImports.add('Reader')
    const body = new Code()
    const flexible = this.structFlexible(s)
    const flexCond = versionCondition(flexible, s.versions)

    for (const p of plans) {
      const t = tsType(p.f.type) + (p.nullable.empty ? '' : ' | null')
      if (p.mandatory.empty) {
        body.line(`let $${p.f.prop}: ${t} | undefined`)
        continue
      }
      const cond = versionCondition(p.mandatory, s.versions)
      const expr = this.readExpr(s, p, p.mandatory)
      const decl = p.tagged.empty ? 'const' : 'let'
      if (cond === 'true') body.line(`${decl} $${p.f.prop}${p.tagged.empty ? '' : `: ${t} | undefined`} = ${expr}`)
      else body.line(`${decl} $${p.f.prop}: ${t} | undefined = ${cond} ? ${expr} : undefined`)
    }
    if (!flexible.empty) {
      body.line('let _unknownTaggedFields: RawTaggedField[] | undefined')
      body.open(flexCond === 'true' ? '{' : `if (${flexCond}) {`)
      body.line('const numTagged = r.uvarint()')
      body.open('for (let t = 0; t < numTagged; t++) {')
      body.line('const tag = r.uvarint()')
      body.line('const size = r.uvarint()')
      body.line("r.need(size, 'tagged field')")
      body.line('const end = r.pos + size')
      let first = true
      for (const p of plans) {
        if (p.tagged.empty) continue
        const cond = versionCondition(p.tagged, flexible)
        const head = `if (tag === ${p.f.tag}${cond === 'true' ? '' : ` && ${cond}`}) {`
        if (first) body.open(head)
        else body.reopen(`} else ${head}`)
        body.line(`$${p.f.prop} = ${this.readTagged(s, p)}`)
        first = false
      }
      // Generated code has no semicolons: a line starting with '(' needs one in front (ASI).
      if (first) {
        body.line(';(_unknownTaggedFields ??= []).push({ tag, data: r.raw(size) })')
      } else {
        body.reopen('} else {')
        body.line(';(_unknownTaggedFields ??= []).push({ tag, data: r.raw(size) })')
        body.close()
      }
      this.usedImports.add('InvalidFieldError')
      body.line(
        `if (r.pos !== end) throw new InvalidFieldError(\`tagged field \${tag} of ${s.specName} declared \${size} bytes but its value took \${r.pos - end + size}\`, end - size)`,
      )
      body.close()
      body.close()
    }
    const props = plans.map((p) => `${p.f.prop}: $${p.f.prop}`)
    if (!flexible.empty) props.push('_unknownTaggedFields')
    body.line(`return { ${props.join(', ')} }`)

    this.emitFunction(
      `export function read${s.tsName}(r: Reader, version: number): ${s.tsName} {`,
      body.toString(),
      flexCond,
    )
  }

  // ---------------------------------------------------------------- skip

  /** Statement skipping one value (regular or tagged) without building it. */
  private skipStmt(s: StructDef, p: FieldPlan, tagged: boolean): string {
    const { f } = p
    const flex = tagged ? 'true' : p.flex
    const what = `${s.specName}.${f.name}`
    switch (f.type.kind) {
      case 'string':
        return `r.skipString(${flex}, '${what}')`
      case 'bytes':
      case 'records':
        return `r.skipBytes(${flex}, '${what}')`
      case 'struct': {
        const skip = `skip${f.type.struct.tsName}(r, version)`
        if (p.nullable.empty) return skip
        // The presence marker comes first: int8 for regular fields, uvarint for tagged ones.
        return tagged ? `if (r.uvarint() !== 0) ${skip}` : `if (r.int8() >= 0) ${skip}`
      }
      case 'array': {
        const el = f.type.element
        const fixed = FIXED_SIZE[el.kind]
        const n = `r.arrayLength(${flex}, true, '${what}')`
        if (fixed !== undefined) return `{ const n = ${n}; if (n > 0) r.skip(n * ${fixed}, '${what}') }`
        const elem =
          el.kind === 'string'
            ? `r.skipString(${flex}, '${what}[]')`
            : el.kind === 'bytes'
              ? `r.skipBytes(${flex}, '${what}[]')`
              : el.kind === 'struct'
                ? `skip${el.struct.tsName}(r, version)`
                : 'undefined'
        return `{ const n = ${n}; for (let i = 0; i < n; i++) ${elem} }`
      }
      default:
        return `r.skip(${FIXED_SIZE[f.type.kind]}, '${f.type.kind}')`
    }
  }

  /**
   * skipX(r, version, stopAtTags): moves past a struct without building it. With stopAtTags the reader stops at
   * the struct's tagged-field section, so a caller can look for one top-level tagged field (KIP-951 NodeEndpoints
   * in Fetch and Produce responses) at the cost of a scan instead of a decode.
   */
  private emitSkip(s: StructDef): void {
    const plans = s.fields.map((f) => this.plan(s, f)).filter((p) => !p.mandatory.empty)
    this.usedImports.add('Reader')
    const body = new Code()
    const flexible = this.structFlexible(s)
    const flexCond = versionCondition(flexible, s.versions)
    for (const p of plans) {
      const cond = versionCondition(p.mandatory, s.versions)
      const stmt = this.skipStmt(s, p, false)
      body.line(cond === 'true' ? stmt : `if (${cond}) ${stmt}`)
    }
    if (!flexible.empty)
      body.line(`if (${flexCond === 'true' ? '' : `${flexCond} && `}!stopAtTags) r.skipTaggedFields()`)
    this.emitFunction(
      `export function skip${s.tsName}(r: Reader, version: number${flexible.empty ? '' : ', stopAtTags = false'}): void {`,
      body.toString(),
      flexCond,
    )
  }

  // ---------------------------------------------------------------- size

  private valueSize(s: StructDef, p: FieldPlan, v: string, possible: Versions, tagged: boolean): string {
    const { f } = p
    const nullCond = tagged ? (p.nullable.empty ? 'false' : 'true') : versionCondition(p.nullable, possible)
    const flex = tagged ? 'true' : p.flex
    switch (f.type.kind) {
      case 'string':
        this.usedImports.add('sizeOfNullableString')
        return `sizeOfNullableString(${flex}, ${v}!)`
      case 'bytes':
      case 'records':
        this.usedImports.add('sizeOfNullableBytes')
        return `sizeOfNullableBytes(${flex}, ${v}!)`
      case 'struct': {
        const size = `size${f.type.struct.tsName}(${v}!, version)`
        if (nullCond === 'false') return size
        // Regular nullable structs carry an int8 marker; tagged ones a uvarint marker (both one byte).
        return `(${v} === null ? 1 : 1 + ${size})`
      }
      case 'array':
        return `${this.arrayHelperName(s, f, 'size')}(${v}!, version, ${flex})`
      default:
        return String(FIXED_SIZE[f.type.kind])
    }
  }

  private emitSize(s: StructDef): void {
    const plans = s.fields.map((f) => this.plan(s, f)).filter((p) => !p.mandatory.empty || !p.tagged.empty)
    const body = new Code()
    const flexible = this.structFlexible(s)
    const flexCond = versionCondition(flexible, s.versions)
    let fixed = 0
    const variable: string[] = []
    for (const p of plans) {
      if (p.mandatory.empty) continue
      const cond = versionCondition(p.mandatory, s.versions)
      const size = this.valueSize(s, p, `m.${p.f.prop}`, p.mandatory, false)
      if (cond === 'true' && /^\d+$/.test(size)) fixed += Number(size)
      else if (cond === 'true') variable.push(`size += ${size}`)
      else variable.push(`if (${cond}) size += ${size}`)
    }
    body.line(`let size = ${fixed}`)
    for (const v of variable) body.line(v)
    if (!flexible.empty) {
      this.usedImports.add('sizeOfUvarint')
      body.open(flexCond === 'true' ? '{' : `if (${flexCond}) {`)
      body.line('let numTagged = 0')
      for (const p of plans) {
        if (p.tagged.empty) continue
        const cond = versionCondition(p.tagged, flexible)
        body.open(`if (${cond === 'true' ? '' : `${cond} && `}m.${p.f.prop} !== undefined) {`)
        body.line(`const s = ${this.valueSize(s, p, `m.${p.f.prop}`, p.tagged, true)}`)
        body.line(`size += ${sizeOfUvarintLiteral(p.f.tag!)} + sizeOfUvarint(s) + s`)
        body.line('numTagged++')
        body.close()
      }
      body.open('if (m._unknownTaggedFields !== undefined) {')
      body.open('for (const u of m._unknownTaggedFields) {')
      body.line('size += sizeOfUvarint(u.tag) + sizeOfUvarint(u.data.length) + u.data.length')
      body.line('numTagged++')
      body.close()
      body.close()
      body.line('size += sizeOfUvarint(numTagged)')
      body.close()
    }
    body.line('return size')
    this.emitFunction(
      `export function size${s.tsName}(m: ${s.tsName}, version: number): number {`,
      body.toString(),
      flexCond,
    )
  }

  // ---------------------------------------------------------------- write

  private writeValue(s: StructDef, p: FieldPlan, v: string, possible: Versions, tagged: boolean, c: Code): void {
    const { f } = p
    const nullCond = tagged ? (p.nullable.empty ? 'false' : 'true') : versionCondition(p.nullable, possible)
    const flex = tagged ? 'true' : p.flex
    const pick = (nullableStmt: string, plainStmt: string) =>
      nullCond === 'true'
        ? c.line(nullableStmt)
        : nullCond === 'false'
          ? c.line(plainStmt)
          : c.line(`if (${nullCond}) ${nullableStmt}`).line(`else ${plainStmt}`)
    switch (f.type.kind) {
      case 'string':
        pick(`w.nullableString(${flex}, ${v}!)`, `w.string(${flex}, ${v}!)`)
        return
      case 'bytes':
      case 'records':
        pick(`w.nullableBytes(${flex}, ${v}!)`, `w.bytes(${flex}, ${v}!)`)
        return
      case 'struct': {
        const write = `write${f.type.struct.tsName}(w, ${v}!, version)`
        if (nullCond === 'false') {
          c.line(write)
          return
        }
        // Nullable structs carry a presence marker: int8 -1/1 as a regular field, uvarint 0/1 when tagged
        // (MessageDataGenerator.generateStructReader / the struct branch of the tagged-field writer).
        const [isNull, notNull] = tagged ? ['w.uvarint(0)', 'w.uvarint(1)'] : ['w.int8(-1)', 'w.int8(1)']
        if (nullCond !== 'true') c.open(`if (${nullCond}) {`)
        c.line(`if (${v} === null) ${isNull}`)
        c.line(`else {`).line(`  ${notNull}`).line(`  ${write}`).line('}')
        if (nullCond !== 'true') c.reopen('} else {').line(write).close()
        return
      }
      case 'array':
        c.line(`${this.arrayHelperName(s, f, 'write')}(w, ${v}, version, ${flex}, ${nullCond})`)
        return
      default:
        c.line(`w.${f.type.kind}(${v}!)`)
    }
  }

  /** Condition that a value differs from the field's default, for the non-ignorable-field check. */
  private nonDefault(f: FieldDef, v: string): string | undefined {
    const d = f.default
    switch (f.type.kind) {
      case 'bool':
        return `${v} !== ${d === 'true'}`
      case 'int64':
        return `${v} !== ${d === undefined ? 0n : BigInt(d)}n`
      case 'uuid':
        return `${v} !== '${ZERO_UUID}'`
      case 'string':
        return d === 'null' ? `${v} !== null` : `${v} !== ${JSON.stringify(d ?? '')}`
      case 'bytes':
      case 'records':
      case 'array':
        return `${v} !== null && ${v}.length > 0`
      case 'struct':
        // Kafka compares against a default-constructed struct; a struct in a version that cannot carry it
        // is rare enough that it is treated as ignorable here.
        return undefined
      default:
        return `${v} !== ${d === undefined ? 0 : Number(d)}`
    }
  }

  private emitWrite(s: StructDef): void {
    const plans = s.fields.map((f) => this.plan(s, f)).filter((p) => !p.mandatory.empty || !p.tagged.empty)
    this.usedImports.add('Writer')
    const body = new Code()
    const flexible = this.structFlexible(s)
    const flexCond = versionCondition(flexible, s.versions)

    for (const f of s.fields) {
      const p = this.plan(s, f)
      const present = f.versions.intersect(s.versions)
      if (present.empty) continue
      const cond = versionCondition(p.mandatory, s.versions)
      const check = !f.ignorable ? this.nonDefault(f, `m.${f.prop}`) : undefined
      // A non-ignorable field set in a version that cannot carry it: refuse rather than lose it.
      const absentCond = versionCondition(present, s.versions)
      if (check && absentCond !== 'true') {
        this.usedImports.add('FieldNotInVersionError')
        body.line(
          `if (${absentCond === 'false' ? '' : `!(${absentCond}) && `}m.${f.prop} !== undefined && ${check}) throw new FieldNotInVersionError('${s.tsName}', '${f.prop}', version)`,
        )
      }
      if (p.mandatory.empty) continue
      if (cond === 'true') this.writeValue(s, p, `m.${f.prop}`, p.mandatory, false, body)
      else {
        body.open(`if (${cond}) {`)
        this.writeValue(s, p, `m.${f.prop}`, p.mandatory, false, body)
        body.close()
      }
    }

    if (!flexible.empty) {
      const tagged = plans.filter((p) => !p.tagged.empty).sort((a, b) => a.f.tag! - b.f.tag!)
      body.open(flexCond === 'true' ? '{' : `if (${flexCond}) {`)
      body.line('const unknown = m._unknownTaggedFields')
      const present = (p: FieldPlan) => {
        const cond = versionCondition(p.tagged, flexible)
        return `${cond === 'true' ? '' : `${cond} && `}m.${p.f.prop} !== undefined`
      }
      body.line(
        `w.uvarint(${[...tagged.map((p) => `(${present(p)} ? 1 : 0)`), '(unknown === undefined ? 0 : unknown.length)'].join(' + ')})`,
      )
      body.line('let u = 0')
      for (const p of tagged) {
        // Unknown tags are merged in ascending order, the order Kafka writes them in.
        if (p.f.tag! > 0)
          body.line(
            `while (unknown !== undefined && u < unknown.length && unknown[u]!.tag < ${p.f.tag}) { const x = unknown[u++]!; w.uvarint(x.tag); w.uvarint(x.data.length); w.raw(x.data) }`,
          )
        body.open(`if (${present(p)}) {`)
        body.line(`w.uvarint(${p.f.tag})`)
        body.line(`w.uvarint(${this.valueSize(s, p, `m.${p.f.prop}`, p.tagged, true)})`)
        this.writeValue(s, p, `m.${p.f.prop}`, p.tagged, true, body)
        body.close()
      }
      body.line(
        'while (unknown !== undefined && u < unknown.length) { const x = unknown[u++]!; w.uvarint(x.tag); w.uvarint(x.data.length); w.raw(x.data) }',
      )
      body.close()
    }
    this.emitFunction(
      `export function write${s.tsName}(w: Writer, m: ${s.tsName}, version: number): void {`,
      body.toString(),
      flexCond,
    )
  }

  // ---------------------------------------------------------------- shared

  /**
   * Writes a function, declaring `flexible` only if the body uses it and renaming `version` to
   * `_version` when unused (the project compiles with noUnusedLocals / noUnusedParameters).
   */
  private emitFunction(signature: string, body: string, flexCond: string): void {
    // An identifier use, not a property (`m.version`) or a local named after a field (`$version`).
    const uses = (name: string, text: string) => new RegExp(`(?<![\\w$.])${name}\\b(?!:)`).test(text)
    const usesFlexible = uses('flexible', body)
    const usesVersion = uses('version', body) || (usesFlexible && uses('version', flexCond))
    let sig = usesVersion ? signature : signature.replace('version: number', '_version: number')
    for (const param of ['r', 'w', 'm']) {
      if (!uses(param, body)) sig = sig.replace(`(${param}: `, `(_${param}: `).replace(` ${param}: `, ` _${param}: `)
    }
    const c = this.code
    c.line()
    c.open(sig)
    if (usesFlexible) c.line(`const flexible = ${flexCond}`)
    for (const l of body.split('\n')) c.line(l.trimEnd())
    c.close()
  }
}

function sizeOfUvarintLiteral(n: number): number {
  let size = 1
  while (n >= 0x80) {
    n = Math.floor(n / 128)
    size++
  }
  return size
}
