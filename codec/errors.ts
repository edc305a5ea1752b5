/**
 * Typed errors for malformed or unsupported wire input. The codec never throws anything else
 * for bad bytes: a RangeError or TypeError escaping a decode is a bug in the codec.
 *
 * The codec is pure and imports nothing from src/, so it carries its own base class; the runtime
 * treats any `CodecError` as "this peer sent bytes we cannot parse" (close or answer with an error).
 * Codes are stable (`KSC_ERR_CODEC_<WHAT>`) so logs and callers can branch on them.
 */
export class CodecError extends Error {
  readonly code: string
  /** Byte offset (within the buffer being decoded) where the problem was found, when known. */
  readonly offset: number | undefined

  constructor(code: string, message: string, offset?: number, options?: { cause?: unknown }) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`, options)
    this.code = code
    this.offset = offset
    this.name = new.target.name
  }
}

/** The input ended before a value that had to be there. */
export class TruncatedInputError extends CodecError {
  constructor(what: string, needed: number, available: number, offset: number) {
    super(
      'KSC_ERR_CODEC_TRUNCATED',
      `truncated input: ${what} needs ${needed} byte(s) but only ${available} remain`,
      offset,
    )
  }
}

/** A length or count prefix that is negative where null is not allowed, or larger than the bytes left. */
export class InvalidLengthError extends CodecError {
  constructor(what: string, length: number | bigint, offset: number, why: string) {
    super('KSC_ERR_CODEC_INVALID_LENGTH', `invalid ${what} length ${length}: ${why}`, offset)
  }
}

/** A varint longer than its type allows (5 bytes for 32 bits, 10 for 64). */
export class InvalidVarintError extends CodecError {
  constructor(bits: 32 | 64, offset: number) {
    super('KSC_ERR_CODEC_INVALID_VARINT', `varint does not fit in ${bits} bits`, offset)
  }
}

/** A value that is structurally wrong: null where not nullable, a tagged field of the wrong size, etc. */
export class InvalidFieldError extends CodecError {
  constructor(message: string, offset?: number) {
    super('KSC_ERR_CODEC_INVALID_FIELD', message, offset)
  }
}

/** The message was decoded but bytes were left over: the peer and the codec disagree on the layout. */
export class TrailingBytesError extends CodecError {
  constructor(what: string, trailing: number, offset: number) {
    super('KSC_ERR_CODEC_TRAILING_BYTES', `${what}: ${trailing} byte(s) left over after decoding`, offset)
  }
}

/** An API key the codec has no layout for. */
export class UnknownApiKeyError extends CodecError {
  readonly apiKey: number
  constructor(apiKey: number) {
    super('KSC_ERR_CODEC_UNKNOWN_API_KEY', `unknown API key ${apiKey}`)
    this.apiKey = apiKey
  }
}

/** A known API at a version outside what the codec can decode. */
export class UnsupportedVersionError extends CodecError {
  readonly apiKey: number
  readonly apiVersion: number
  constructor(what: string, apiKey: number, apiVersion: number, min: number, max: number) {
    super(
      'KSC_ERR_CODEC_UNSUPPORTED_VERSION',
      min > max
        ? `${what} (API key ${apiKey}) version ${apiVersion} is not supported: this API has no supported versions`
        : `${what} (API key ${apiKey}) version ${apiVersion} is not supported: the codec knows versions ${min}-${max}`,
    )
    this.apiKey = apiKey
    this.apiVersion = apiVersion
  }
}

/** Encoding a message at a version that cannot carry one of its non-default, non-ignorable fields. */
export class FieldNotInVersionError extends CodecError {
  constructor(message: string, field: string, version: number) {
    super(
      'KSC_ERR_CODEC_FIELD_NOT_IN_VERSION',
      `${message}.${field} is set but version ${version} cannot carry it; it would be silently lost`,
    )
  }
}

/** A frame whose length prefix exceeds the configured maximum (or is negative). */
export class FrameTooLargeError extends CodecError {
  readonly size: number
  readonly max: number
  constructor(size: number, max: number) {
    super(
      'KSC_ERR_CODEC_FRAME_TOO_LARGE',
      size < 0
        ? `frame length prefix is negative (${size}): the peer is not speaking the Kafka protocol`
        : `frame of ${size} bytes exceeds the maximum frame size of ${max} bytes (raise it if this peer is legitimate)`,
    )
    this.size = size
    this.max = max
  }
}

/** A record batch (or legacy message set) whose header or records contradict the record-batch layout. */
export class InvalidRecordBatchError extends CodecError {
  constructor(message: string, offset?: number) {
    super('KSC_ERR_CODEC_INVALID_RECORD_BATCH', message, offset)
  }
}

/** A record batch whose stored CRC-32C does not match its bytes: corrupted in flight or by its producer. */
export class CrcMismatchError extends CodecError {
  readonly expected: number
  readonly actual: number
  constructor(expected: number, actual: number, offset?: number) {
    super(
      'KSC_ERR_CODEC_CRC_MISMATCH',
      `record batch CRC-32C mismatch: stored 0x${expected.toString(16).padStart(8, '0')}, computed 0x${actual.toString(16).padStart(8, '0')}`,
      offset,
    )
    this.expected = expected
    this.actual = actual
  }
}

/** A compression type the codec has no codec for (attribute bits 0-2 set to 5, 6 or 7). */
export class UnsupportedCompressionError extends CodecError {
  readonly compression: number
  constructor(compression: number) {
    super(
      'KSC_ERR_CODEC_UNSUPPORTED_COMPRESSION',
      `compression type ${compression} is not one of none (0), gzip (1), snappy (2), lz4 (3), zstd (4)`,
    )
    this.compression = compression
  }
}

/** Compressed data that its codec cannot decode (bad framing, checksum, back-reference, ...). */
export class CompressionError extends CodecError {
  constructor(codec: string, message: string, options?: { cause?: unknown }) {
    super('KSC_ERR_CODEC_COMPRESSION', `${codec}: ${message}`, undefined, options)
  }
}

/** Compressed data that would decompress past the caller's cap: a zip bomb, or a cap set too low. */
export class DecompressedSizeExceededError extends CodecError {
  readonly max: number
  constructor(codec: string, max: number) {
    super(
      'KSC_ERR_CODEC_DECOMPRESSED_TOO_LARGE',
      `${codec}: decompressed data exceeds the limit of ${max} bytes (raise maxDecompressedSize if this producer is legitimate)`,
    )
    this.max = max
  }
}
