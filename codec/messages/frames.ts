import { TrailingBytesError, UnknownApiKeyError, UnsupportedVersionError } from '../errors.js'
import { requestHeaderVersion, responseHeaderVersion } from '../header.js'
import { Reader } from '../primitives/reader.js'
import { Writer } from '../primitives/writer.js'
import { API_DEFINITIONS, type RequestByApiKey, type ResponseByApiKey } from './generated/apis.js'
import {
  type RequestHeader,
  readRequestHeader,
  sizeRequestHeader,
  writeRequestHeader,
} from './generated/request-header.js'
import {
  type ResponseHeader,
  readResponseHeader,
  sizeResponseHeader,
  writeResponseHeader,
} from './generated/response-header.js'
import type { ApiDefinition, MessageCodec } from './message-codec.js'

/**
 * Whole-message decode and encode: header plus body, for requests and responses.
 * Decoders take the frame body (the bytes after the 4-byte size prefix) or, with `offset`, the frame as the
 * FrameDecoder hands it out. Encoders return a complete frame, size prefix included, in one allocation.
 * Decoded byte fields are views into the input buffer.
 */

export type ApiKeyNumber = keyof RequestByApiKey

/**
 * A request as the codec reads it (with its header version). Filters get their own view of it,
 * src/pipeline/filter-api.ts DecodedRequest (with its frame size), so the codec's type has another name.
 */
export interface RequestMessage<K extends ApiKeyNumber = ApiKeyNumber> {
  apiKey: K
  apiVersion: number
  header: RequestHeader
  headerVersion: number
  body: RequestByApiKey[K]
}

/** A response as the codec reads it (see RequestMessage). */
export interface ResponseMessage<K extends ApiKeyNumber = ApiKeyNumber> {
  apiKey: K
  apiVersion: number
  header: ResponseHeader
  headerVersion: number
  body: ResponseByApiKey[K]
}

/** The API definition for a key, or a typed error for keys the codec does not know. */
export function apiDefinition(apiKey: number): ApiDefinition {
  const api = API_DEFINITIONS[apiKey]
  if (api === undefined) throw new UnknownApiKeyError(apiKey)
  return api
}

/** True when the codec can decode requests (and responses) of this API key and version. */
export function canDecode(apiKey: number, apiVersion: number): boolean {
  const api = API_DEFINITIONS[apiKey]
  return api !== undefined && apiVersion >= api.request.minVersion && apiVersion <= api.request.maxVersion
}

function codecFor(apiKey: number, apiVersion: number, side: 'request' | 'response'): MessageCodec {
  const api = apiDefinition(apiKey)
  const codec = api[side]
  if (apiVersion < codec.minVersion || apiVersion > codec.maxVersion) {
    throw new UnsupportedVersionError(
      `${api.name}${side === 'request' ? 'Request' : 'Response'}`,
      apiKey,
      apiVersion,
      codec.minVersion,
      codec.maxVersion,
    )
  }
  return codec
}

export function decodeRequest(buf: Buffer, offset = 0, end = buf.length): RequestMessage {
  return readRequest(new Reader(buf, offset, end))
}

/**
 * A request from a reader positioned at its header, which must end where the reader ends: a Reader over one
 * Buffer, or a PiecesReader over a frame that came in pieces (decoded where it lies, never joined), possibly with
 * a recordsReader set.
 */
export function readRequest(r: Reader): RequestMessage {
  const start = r.pos
  const apiKey = r.int16()
  const apiVersion = r.int16()
  r.pos = start
  const codec = codecFor(apiKey, apiVersion, 'request')
  const headerVersion = requestHeaderVersion(apiKey, apiVersion)
  const header = readRequestHeader(r, headerVersion)
  const body = codec.read(r, apiVersion) as RequestByApiKey[ApiKeyNumber]
  if (r.pos !== r.end) throw new TrailingBytesError(codec.name, r.end - r.pos, r.pos)
  return { apiKey: apiKey as ApiKeyNumber, apiVersion, header, headerVersion, body }
}

export function decodeResponse(
  buf: Buffer,
  apiKey: number,
  apiVersion: number,
  offset = 0,
  end = buf.length,
): ResponseMessage {
  return readResponse(new Reader(buf, offset, end), apiKey, apiVersion)
}

/** A response from a reader positioned at its header (see readRequest). */
export function readResponse(r: Reader, apiKey: number, apiVersion: number): ResponseMessage {
  const codec = codecFor(apiKey, apiVersion, 'response')
  const headerVersion = responseHeaderVersion(apiKey, apiVersion)
  const header = readResponseHeader(r, headerVersion)
  const body = codec.read(r, apiVersion) as ResponseByApiKey[ApiKeyNumber]
  if (r.pos !== r.end) throw new TrailingBytesError(codec.name, r.end - r.pos, r.pos)
  return { apiKey: apiKey as ApiKeyNumber, apiVersion, header, headerVersion, body }
}

/** A request frame written (size prefix, header, body); `referenceFrom` as Writer.referenceFrom. */
function writeRequestFrame(header: RequestHeader, body: unknown, referenceFrom: number | undefined): Writer {
  const apiKey = header.requestApiKey
  const apiVersion = header.requestApiVersion
  const codec = codecFor(apiKey, apiVersion, 'request')
  const headerVersion = requestHeaderVersion(apiKey, apiVersion)
  const size = sizeRequestHeader(header, headerVersion) + codec.size(body, apiVersion)
  const w = referenceFrom === undefined ? new Writer(4 + size) : Writer.forPieces(4 + size, referenceFrom)
  w.int32(size)
  writeRequestHeader(w, header, headerVersion)
  codec.write(w, body, apiVersion)
  return w
}

/** A response frame written (see writeRequestFrame). */
function writeResponseFrame(
  apiKey: number,
  apiVersion: number,
  header: ResponseHeader,
  body: unknown,
  referenceFrom: number | undefined,
): Writer {
  const codec = codecFor(apiKey, apiVersion, 'response')
  const headerVersion = responseHeaderVersion(apiKey, apiVersion)
  const size = sizeResponseHeader(header, headerVersion) + codec.size(body, apiVersion)
  const w = referenceFrom === undefined ? new Writer(4 + size) : Writer.forPieces(4 + size, referenceFrom)
  w.int32(size)
  writeResponseHeader(w, header, headerVersion)
  codec.write(w, body, apiVersion)
  return w
}

/** Encodes header and body into one frame with its size prefix. The header's api key and version are authoritative. */
export function encodeRequest(header: RequestHeader, body: unknown): Buffer {
  return writeRequestFrame(header, body, undefined).finish()
}

/**
 * encodeRequest as pieces: bytes values (records) of at least `referenceFrom` bytes are not copied but handed out as
 * pieces of their own between the written parts, so a filter that changed a Produce request's topic names costs a
 * few hundred bytes of writing, not a copy of its records.
 */
export function encodeRequestPieces(header: RequestHeader, body: unknown, referenceFrom: number): Buffer[] {
  return writeRequestFrame(header, body, referenceFrom).pieces()
}

export function encodeResponse(apiKey: number, apiVersion: number, header: ResponseHeader, body: unknown): Buffer {
  return writeResponseFrame(apiKey, apiVersion, header, body, undefined).finish()
}

/** encodeResponse as pieces (see encodeRequestPieces): a changed Fetch response keeps its records where they are. */
export function encodeResponsePieces(
  apiKey: number,
  apiVersion: number,
  header: ResponseHeader,
  body: unknown,
  referenceFrom: number,
): Buffer[] {
  return writeResponseFrame(apiKey, apiVersion, header, body, referenceFrom).pieces()
}
