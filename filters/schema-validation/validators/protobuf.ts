import protobuf from 'protobufjs'
import { type CompiledSchema, errorText, SchemaCompileError, type SchemaReference } from './compiled-schema.js'

/**
 * Protobuf with protobufjs: the .proto text is parsed once (with its references, the files it imports, into one
 * root); a record is valid when it decodes as the message it names (protobufjs Type#decode throws on a malformed
 * wire encoding and on a missing proto2 required field).
 *
 * Which message: Confluent's message indexes are the path to it among the message types of the main file, then of
 * the message that encloses it (the wire format page: "Protobuf Serializer"), so the main file is also parsed on its
 * own to know its messages in declaration order. A local file names its message (`message`), or its first one is used.
 */
export function compileProtobuf(
  source: string,
  references: readonly SchemaReference[] = [],
  messageName?: string,
): CompiledSchema {
  let byPath: (indexes: readonly number[]) => protobuf.Type | undefined
  let fixed: protobuf.Type | undefined
  try {
    const root = new protobuf.Root()
    const wellKnown = new Set<string>()
    const parseInto = (text: string): void => {
      const parsed = protobuf.parse(text, root, { keepCase: true })
      for (const imp of [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])]) {
        // google/protobuf/*.proto: protobufjs carries the well-known types itself (protobuf.common).
        if (!imp.startsWith('google/protobuf/') || wellKnown.has(imp)) continue
        const json = protobuf.common.get(imp)
        if (json?.nested !== undefined) {
          root.addJSON(json.nested)
          wellKnown.add(imp)
        }
      }
    }
    for (const ref of references) parseInto(ref.source)
    parseInto(source)
    root.resolveAll()
    const own = protobuf.parse(source, new protobuf.Root(), { keepCase: true })
    const fileScope: protobuf.NamespaceBase = own.package
      ? (own.root.lookup(own.package) as protobuf.Namespace)
      : own.root
    const messagesOf = (ns: protobuf.NamespaceBase): protobuf.Type[] =>
      ns.nestedArray.filter((o): o is protobuf.Type => o instanceof protobuf.Type)
    const resolved = new Map<string, protobuf.Type | undefined>()
    byPath = (indexes) => {
      const key = indexes.join(',')
      if (resolved.has(key)) return resolved.get(key)
      let scope: protobuf.NamespaceBase = fileScope
      let found: protobuf.Type | undefined
      for (const i of indexes) {
        found = messagesOf(scope)[i]
        if (found === undefined) break
        scope = found
      }
      const type = found === undefined ? undefined : root.lookupType(found.fullName)
      if (resolved.size < 1000) resolved.set(key, type)
      return type
    }
    if (messageName !== undefined) {
      const local = own.package && !messageName.includes('.') ? `${own.package}.${messageName}` : messageName
      fixed = root.lookupType(local)
    } else if (references.length === 0 && messagesOf(fileScope).length === 0) {
      throw new Error('the file declares no message')
    }
  } catch (err) {
    throw new SchemaCompileError(`not a usable Protobuf schema: ${errorText(err)}`)
  }
  const typeFor = (indexes: readonly number[] | undefined): protobuf.Type | undefined => fixed ?? byPath(indexes ?? [0])
  return {
    format: 'protobuf',
    check(payload, indexes) {
      const type = typeFor(indexes)
      if (type === undefined) return `names message [${(indexes ?? [0]).join(', ')}], which the schema does not have`
      try {
        type.decode(payload)
      } catch (err) {
        return `not a valid Protobuf ${type.fullName.slice(1)}: ${errorText(err)}`
      }
      return undefined
    },
    recordName: (indexes) => typeFor(indexes)?.fullName.slice(1),
  }
}
