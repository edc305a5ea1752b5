import type { FieldType, MessageDef, StructDef } from './spec.js'
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
