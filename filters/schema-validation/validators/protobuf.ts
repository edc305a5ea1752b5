import protobuf from 'protobufjs'
import descriptor from 'protobufjs/ext/descriptor/index.js'
import { type CompiledSchema, errorText, SchemaCompileError, type SchemaReference } from './compiled-schema.js'

/** google.protobuf.FileDescriptorProto, as protobufjs' descriptor extension defines it. */
const FileDescriptorProto = (descriptor as unknown as { FileDescriptorProto: protobuf.Type }).FileDescriptorProto

interface FileDescriptor {
  readonly package?: string
  readonly messageType?: readonly MessageDescriptor[]
}
interface MessageDescriptor {
  readonly name?: string
  readonly nestedType?: readonly MessageDescriptor[]
}

/**
 * A schema's text is either a .proto file or, as Confluent's serializers register it (confluent-kafka-python's
 * ProtobufSerializer; the registry API's `format=serialized`), a base64 serialized FileDescriptorProto.
 */
function asDescriptor(text: string): FileDescriptor | undefined {
  const t = text.trim()
  if (t === '' || !/^[A-Za-z0-9+/=\s]+$/.test(t) || /\b(syntax|message|package|import)\b/.test(t)) return undefined
  try {
    return FileDescriptorProto.toObject(FileDescriptorProto.decode(Buffer.from(t, 'base64'))) as FileDescriptor
  } catch {
    return undefined
  }
}

/**
 * Protobuf with protobufjs: the schema (.proto text, or a serialized FileDescriptorProto) is read once with its
 * references, the files it imports, into one root; a record is valid when it decodes as the message it names
 * (protobufjs Type#decode throws on a malformed wire encoding and on a missing proto2 required field).
 *
 * Which message: Confluent's message indexes are the path to it among the message types of the main file, then of
 * the message that encloses it (the wire format page: "Protobuf Serializer"), so the main file's messages are also
 * listed in declaration order. A local file names its message (`message`), or its first one is used.
 */
export function compileProtobuf(
  source: string,
  references: readonly SchemaReference[] = [],
  messageName?: string,
): CompiledSchema {
  let byPath: (indexes: readonly number[]) => protobuf.Type | undefined
  let fixed: protobuf.Type | undefined
  try {
    const mainDescriptor = asDescriptor(source)
    const descriptors: FileDescriptor[] = []
    const texts: string[] = []
    for (const ref of references) {
      const d = asDescriptor(ref.source)
      if (d !== undefined) descriptors.push(d)
      else texts.push(ref.source)
    }
    if (mainDescriptor !== undefined) descriptors.push(mainDescriptor)
    else texts.push(source)
    const root =
      descriptors.length > 0
        ? // The descriptor extension adds Root.fromDescriptor (protobufjs/ext/descriptor).
          (
            protobuf.Root as unknown as { fromDescriptor(set: { file: FileDescriptor[] }): protobuf.Root }
          ).fromDescriptor({
            file: descriptors,
          })
        : new protobuf.Root()
    const wellKnown = new Set<string>()
    for (const text of texts) {
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
    root.resolveAll()
    // The main file's messages in declaration order, as the names of their types.
    const fileMessages = mainDescriptor !== undefined ? fromDescriptor(mainDescriptor) : fromText(source)
    const resolved = new Map<string, protobuf.Type | undefined>()
    byPath = (indexes) => {
      const key = indexes.join(',')
      if (resolved.has(key)) return resolved.get(key)
      let level: readonly MessageName[] = fileMessages.messages
      let found: MessageName | undefined
      for (const i of indexes) {
        found = level[i]
        if (found === undefined) break
        level = found.nested
      }
      const type = found === undefined ? undefined : root.lookupType(found.fullName)
      if (resolved.size < 1000) resolved.set(key, type)
      return type
    }
    if (messageName !== undefined) {
      const pkg = fileMessages.package
      fixed = root.lookupType(pkg && !messageName.includes('.') ? `${pkg}.${messageName}` : messageName)
    } else if (fileMessages.messages.length === 0) {
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

interface MessageName {
  readonly fullName: string
  readonly nested: readonly MessageName[]
}

function fromDescriptor(file: FileDescriptor): { package: string | undefined; messages: MessageName[] } {
  const walk = (list: readonly MessageDescriptor[] | undefined, scope: string): MessageName[] =>
    (list ?? []).map((m) => {
      const fullName = scope === '' ? `${m.name}` : `${scope}.${m.name}`
      return { fullName, nested: walk(m.nestedType, fullName) }
    })
  return { package: file.package || undefined, messages: walk(file.messageType, file.package ?? '') }
}

function fromText(source: string): { package: string | undefined; messages: MessageName[] } {
  const own = protobuf.parse(source, new protobuf.Root(), { keepCase: true })
  const scope: protobuf.NamespaceBase = own.package ? (own.root.lookup(own.package) as protobuf.Namespace) : own.root
  const walk = (ns: protobuf.NamespaceBase): MessageName[] =>
    ns.nestedArray
      .filter((o): o is protobuf.Type => o instanceof protobuf.Type)
      .map((t) => ({ fullName: t.fullName.slice(1), nested: walk(t) }))
  return { package: own.package || undefined, messages: walk(scope) }
}
