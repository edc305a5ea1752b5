import { Versions } from './versions.js'

/**
 * The model of Kafka's message spec files (clients/src/main/resources/common/message/*.json; the format
 * is documented in README.md beside them), resolved into types the emitter can walk.
 */

export type PrimitiveKind = 'bool' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'float64' | 'uuid'

export type FieldType =
  | { kind: PrimitiveKind }
  | { kind: 'string' }
  | { kind: 'bytes' }
  | { kind: 'records' }
  | { kind: 'struct'; struct: StructDef }
  | { kind: 'array'; element: FieldType }

export interface FieldDef {
  /** Spec name, PascalCase ("TopicData"). */
  name: string
  /** Property name in TypeScript, camelCase ("topicData"). */
  prop: string
  type: FieldType
  versions: Versions
  nullableVersions: Versions
  taggedVersions: Versions
  tag: number | undefined
  /** The spec's default as written (string form), undefined when the type default applies. */
  default: string | undefined
  ignorable: boolean
  entityType: string | undefined
  about: string | undefined
  /** Only RequestHeader.ClientId overrides this ("none": int16-length string even in flexible headers). */
  flexibleVersions: Versions | undefined
}

export interface StructDef {
  /** Name in the spec ("TopicProduceData"). */
  specName: string
  /** Exported TypeScript name, prefixed with the message to stay unique ("ProduceRequestTopicProduceData"). */
  tsName: string
  fields: FieldDef[]
  /** Versions in which this struct can occur. */
  versions: Versions
}

export interface MessageDef {
  name: string
  type: 'request' | 'response' | 'header' | 'data'
  apiKey: number | undefined
  validVersions: Versions
  flexibleVersions: Versions
  listeners: string[]
  latestVersionUnstable: boolean
  root: StructDef
  /** Every struct, root first, each once. */
  structs: StructDef[]
}

/** JSON with // comments, as the spec files are written; comments inside strings are left alone. */
export function parseJsonWithComments(text: string): unknown {
  let out = ''
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (inString) {
      out += c
      if (c === '\\') out += text[++i] ?? ''
      else if (c === '"') inString = false
    } else if (c === '"') {
      inString = true
      out += c
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++
      out += '\n'
    } else {
      out += c
    }
  }
  return JSON.parse(out)
}

interface RawField {
  name: string
  type: string
  versions?: string
  nullableVersions?: string
  taggedVersions?: string
  tag?: number
  default?: string | number | boolean
  ignorable?: boolean
  entityType?: string
  about?: string
  flexibleVersions?: string
  fields?: RawField[]
}

interface RawSpec {
  type: MessageDef['type']
  name: string
  apiKey?: number
  validVersions: string
  flexibleVersions?: string
  listeners?: string[]
  latestVersionUnstable?: boolean
  fields?: RawField[]
  commonStructs?: { name: string; versions: string; fields: RawField[] }[]
}

const PRIMITIVES = new Set<string>(['bool', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float64', 'uuid'])

export function camelCase(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1)
}

export function resolveSpec(raw: RawSpec): MessageDef {
  const validVersions = Versions.parse(raw.validVersions)
  const structs: StructDef[] = []
  const common = new Map<string, StructDef>()
  const pendingCommon: { def: StructDef; fields: RawField[] }[] = []

  // Common structs are referenced by name and may be declared after their use: register them first.
  for (const cs of raw.commonStructs ?? []) {
    const def: StructDef = {
      specName: cs.name,
      tsName: raw.name + cs.name,
      fields: [],
      versions: Versions.parse(cs.versions).intersect(validVersions),
    }
    common.set(cs.name, def)
    pendingCommon.push({ def, fields: cs.fields })
  }

  const resolveType = (f: RawField, fieldVersions: Versions): FieldType => {
    let t = f.type
    const isArray = t.startsWith('[]')
    if (isArray) t = t.slice(2)
    let base: FieldType
    if (PRIMITIVES.has(t)) base = { kind: t as PrimitiveKind }
    else if (t === 'string' || t === 'bytes' || t === 'records') base = { kind: t }
    else if (f.fields) {
      const def: StructDef = { specName: t, tsName: raw.name + t, fields: [], versions: fieldVersions }
      structs.push(def)
      def.fields = f.fields.map((x) => resolveField(x, fieldVersions))
      base = { kind: 'struct', struct: def }
    } else {
      const def = common.get(t)
      if (!def) throw new Error(`${raw.name}: field ${f.name} has unknown type ${f.type}`)
      base = { kind: 'struct', struct: def }
    }
    return isArray ? { kind: 'array', element: base } : base
  }

  const resolveField = (f: RawField, parentVersions: Versions): FieldDef => {
    const versions = Versions.parse(f.versions)
    const possible = versions.intersect(parentVersions)
    return {
      name: f.name,
      prop: camelCase(f.name),
      type: resolveType(f, possible),
      versions,
      nullableVersions: Versions.parse(f.nullableVersions),
      taggedVersions: Versions.parse(f.taggedVersions),
      tag: f.tag,
      default: f.default === undefined ? undefined : String(f.default),
      ignorable: f.ignorable === true,
      entityType: f.entityType,
      about: f.about,
      flexibleVersions: f.flexibleVersions === undefined ? undefined : Versions.parse(f.flexibleVersions),
    }
  }

  const root: StructDef = { specName: raw.name, tsName: raw.name, fields: [], versions: validVersions }
  structs.push(root)
  root.fields = (raw.fields ?? []).map((f) => resolveField(f, validVersions))
  for (const { def, fields } of pendingCommon) {
    structs.push(def)
    def.fields = fields.map((f) => resolveField(f, def.versions))
  }

  return {
    name: raw.name,
    type: raw.type,
    apiKey: raw.apiKey,
    validVersions,
    flexibleVersions: Versions.parse(raw.flexibleVersions),
    listeners: raw.listeners ?? [],
    latestVersionUnstable: raw.latestVersionUnstable === true,
    root,
    structs,
  }
}
