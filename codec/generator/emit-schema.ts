import type { FieldDef, FieldType, MessageDef, StructDef } from './spec.js'
import type { Versions } from './versions.js'

/** Emits generated/schema.ts: the runtime layout description described in messages/schema-types.ts. */

function range(v: Versions): string {
  return v.empty ? 'null' : `[${v.min}, ${v.max}]`
}

function typeLiteral(t: FieldType): string {
  switch (t.kind) {
    case 'struct':
      return `{ struct: '${t.struct.tsName}' }`
    case 'array':
      return `{ array: ${typeLiteral(t.element)} }`
    default:
      return `'${t.kind}'`
  }
}

/**
 * The spec's default as a TypeScript literal of the field's decoded type, or undefined when the type's own
 * default applies (no default, or an empty one). Integer defaults may be hex ("0x7fffffff"), as Kafka's
 * generator accepts (FieldSpec.fieldDefault); bytes, records, structs and arrays can only default to null.
 */
function defaultLiteral(f: FieldDef): string | undefined {
  const d = f.default
  if (d === undefined || (d === '' && f.type.kind !== 'string')) return undefined
  const int = (text: string) => (text.startsWith('0x') ? BigInt(text) : BigInt(text.trim()))
  switch (f.type.kind) {
    case 'bool':
      if (d.toLowerCase() !== 'true' && d.toLowerCase() !== 'false') throw new Error(`bad bool default ${d}`)
      return d.toLowerCase()
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
      return String(int(d))
    case 'int64':
      return `${int(d)}n`
    case 'float64':
      return String(Number(d))
    case 'uuid':
    case 'string':
      return d === 'null' && f.type.kind === 'string' ? 'null' : `'${d.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
    default:
      if (d !== 'null') throw new Error(`${f.name}: unsupported default ${d} for ${f.type.kind}`)
      return 'null'
  }
}

function structLiteral(msg: MessageDef, s: StructDef): string {
  const flexible = msg.flexibleVersions.intersect(s.versions)
  const fields = s.fields.flatMap((f) => {
    const present = f.versions.intersect(s.versions)
    if (present.empty) return []
    const tagged = f.taggedVersions.intersect(present).intersect(flexible)
    const mandatory = present.subtract(tagged)
    const parts = [
      `prop: '${f.prop}'`,
      `type: ${typeLiteral(f.type)}`,
      `versions: ${range(mandatory)}`,
      `tagged: ${range(tagged)}`,
    ]
    if (!tagged.empty) parts.push(`tag: ${f.tag}`)
    parts.push(`nullable: ${range(f.nullableVersions.intersect(present))}`)
    if (f.flexibleVersions) parts.push(`flexibleOverride: ${range(f.flexibleVersions.intersect(msg.flexibleVersions))}`)
    if (f.entityType) parts.push(`entityType: '${f.entityType}'`)
    const d = defaultLiteral(f)
    if (d !== undefined) parts.push(`default: ${d}`)
    return [`      { ${parts.join(', ')} },`]
  })
  return [
    `  ${s.tsName}: {`,
    `    name: '${s.tsName}',`,
    // An API Kafka retired (validVersions none) keeps an empty range, min > max.
    `    versions: ${s.versions.empty ? '[0, -1]' : range(s.versions)},`,
    `    flexible: ${range(flexible)},`,
    '    fields: [',
    ...fields,
    '    ],',
    '  },',
  ].join('\n')
}

export function emitSchema(specs: MessageDef[], banner: string): string {
  const lines = [
    banner,
    '',
    "import type { StructSchema } from '../schema-types.js'",
    '',
    '/** Every struct of every message, by TypeScript name; a message root has the message name. */',
    'export const STRUCT_SCHEMAS: Readonly<Record<string, StructSchema>> = {',
  ]
  for (const msg of specs) for (const s of msg.structs) lines.push(structLiteral(msg, s))
  lines.push('}')
  return `${lines.join('\n')}\n`
}
