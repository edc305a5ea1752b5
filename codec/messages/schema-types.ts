/**
 * A runtime description of every message layout, generated next to the codecs (generated/schema.ts).
 * The codecs do not use it; it exists for code that must walk messages generically: the property tests
 * (random messages for every API and version), the `decode` CLI, and filters that look for every field
 * of an entity type (topic names, group ids) without a hand-written list per API.
 */

/** Inclusive version range; a field is present in version v when min <= v <= max. */
export type VersionRange = readonly [min: number, max: number]

export type PrimitiveTypeName = 'bool' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'float64' | 'uuid'

export type TypeSchema =
  | PrimitiveTypeName
  | 'string'
  | 'bytes'
  | 'records'
  | { readonly struct: string }
  | { readonly array: TypeSchema }

export interface FieldSchema {
  /** Property name in decoded messages. */
  readonly prop: string
  readonly type: TypeSchema
  /** Versions in which the field is a regular field; null when it never is. */
  readonly versions: VersionRange | null
  /** Versions in which it is a tagged field, and its tag. */
  readonly tagged: VersionRange | null
  readonly tag?: number
  readonly nullable: VersionRange | null
  /** Versions with compact encoding for this field, when it differs from the message's (RequestHeader.ClientId). */
  readonly flexibleOverride?: VersionRange | null
  /** The spec's entityType: topicName, groupId, transactionalId, brokerId, producerId, ... */
  readonly entityType?: string
  /**
   * The spec's `default`, as a decoded value (int64 as bigint; null for a "null" default). Absent when the type's
   * own default applies: see message-defaults.ts for what that is.
   */
  readonly default?: boolean | number | bigint | string | null
}

export interface StructSchema {
  /** Exported TypeScript name of the struct. */
  readonly name: string
  /** Versions of the message in which the struct can occur. */
  readonly versions: VersionRange
  /** Versions in which it ends with a tagged-field section. */
  readonly flexible: VersionRange | null
  readonly fields: readonly FieldSchema[]
}

export function inRange(range: VersionRange | null | undefined, version: number): boolean {
  return range != null && version >= range[0] && version <= range[1]
}
