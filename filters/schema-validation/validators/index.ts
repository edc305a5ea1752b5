import type { SchemaFormat } from '../config.js'
import { compileAvro } from './avro.js'
import type { CompiledSchema, SchemaReference } from './compiled-schema.js'
import { compileJsonSchema } from './json-schema.js'
import { compileProtobuf } from './protobuf.js'

export { type CompiledSchema, SchemaCompileError, type SchemaReference } from './compiled-schema.js'

/** Compiles a schema of any supported format; throws SchemaCompileError when it cannot be used. */
export function compileSchema(
  format: SchemaFormat,
  source: string,
  references: readonly SchemaReference[] = [],
  protobufMessage?: string,
): CompiledSchema {
  switch (format) {
    case 'avro':
      return compileAvro(source, references)
    case 'json-schema':
      return compileJsonSchema(source, references)
    case 'protobuf':
      return compileProtobuf(source, references, protobufMessage)
  }
}

/** The registry's schemaType (absent means AVRO: the Confluent API's default) as a format. */
export function formatOfSchemaType(schemaType: string | undefined): SchemaFormat | undefined {
  switch (schemaType ?? 'AVRO') {
    case 'AVRO':
      return 'avro'
    case 'JSON':
      return 'json-schema'
    case 'PROTOBUF':
      return 'protobuf'
    default:
      return undefined
  }
}
