import type { SchemaFormat } from '../config.js'

/** A schema another schema imports (Confluent's `references`: the name the importing schema uses, and its text). */
export interface SchemaReference {
  readonly name: string
  readonly source: string
}

/**
 * A schema compiled once for checking records: built when it is first needed (a registry id, a local file) and
 * kept while it is cached. `check` never throws: any problem with a record is the reason it returns.
 */
export interface CompiledSchema {
  readonly format: SchemaFormat
  /**
   * Undefined when `payload` is a valid encoding of a record of this schema, else why not, short, e.g.
   * `/amount must be >= 0`. `messageIndexes`: the Protobuf message the record says it is (Confluent framing).
   */
  check(payload: Buffer, messageIndexes?: readonly number[]): string | undefined
  /**
   * True when `buf[start, end)` is certainly a valid payload (no message index), read in place without a view;
   * false says nothing (call `check` on a view for the verdict and its words). Only schemas whose fast path reads a
   * payload in place have it (Avro, and JSON Schema when the schema has a plan: json-skip.ts); nothing is read at or
   * after `end`.
   */
  validAt?(buf: Buffer, start: number, end: number): boolean
  /** The record's full name (RecordNameStrategy): Avro's named type, the Protobuf message, a JSON Schema's title. */
  recordName(messageIndexes?: readonly number[]): string | undefined
}

export class SchemaCompileError extends Error {
  readonly code = 'KSC_ERR_SCHEMA_VALIDATION_SCHEMA'
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
