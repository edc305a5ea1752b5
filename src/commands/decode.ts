import { CodecError } from '../../codec/errors.js'
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  type RequestMessage,
  type ResponseMessage,
} from '../../codec/messages/frames.js'
import { API_DEFINITIONS } from '../../codec/messages/generated/apis.js'
import { requestToJson, responseToJson } from '../inspect/message-json.js'
import { type CliCommand, type CommandResult, emit, readStdin } from './command.js'
import { InputError, UsageError } from './errors.js'

/**
 * `kafka-sidecar decode`: one captured frame in, JSON out.
 *
 * Input is the frame body (the bytes after the 4-byte length prefix), or with --framed the frame with its prefix;
 * binary on stdin, or hex (--hex, whitespace and a 0x prefix allowed). Byte offsets in errors count from the start
 * of the input as given (the prefix included with --framed), so they can be found in the capture.
 */

export const DecodeExit = { Ok: 0, RoundtripMismatch: 1, BadInput: 2 } as const

export interface DecodeArgs {
  request?: boolean
  response?: boolean
  /** Number, or an API name such as Fetch (any case). Required with `response`. */
  apiKey?: number | string
  apiVersion?: number | string
  /** true or '': the input is hex text; a non-empty string: the hex itself (stdin is not read). */
  hex?: boolean | string
  framed?: boolean
  checkRoundtrip?: boolean
  /** One line of JSON instead of indented. */
  compact?: boolean
}

/** True when runDecode needs stdin (no hex given inline). */
export function decodeNeedsStdin(args: DecodeArgs): boolean {
  return !(typeof args.hex === 'string' && args.hex.trim() !== '')
}

/** Decodes, renders and optionally round-trip checks one frame. Never throws for bad input or usage. */
export function runDecode(args: DecodeArgs, stdin: Buffer = Buffer.alloc(0)): CommandResult {
  try {
    return decode(args, stdin)
  } catch (err) {
    if (err instanceof UsageError) return fail(`${err.message} (see kafka-sidecar decode --help)`, err.code)
    if (err instanceof InputError) return fail(err.message, err.code)
    throw err
  }
}

function fail(message: string, code: string): CommandResult {
  return { exitCode: DecodeExit.BadInput, stdout: '', stderr: `error ${code}: ${message}\n` }
}

function decode(args: DecodeArgs, stdin: Buffer): CommandResult {
  if (args.request === true && args.response === true)
    throw new UsageError('--request and --response exclude each other')
  if (args.request !== true && args.response !== true)
    throw new UsageError('say what the frame is: --request, or --response --api-key K --api-version V')
  let apiKey: number | undefined
  let apiVersion: number | undefined
  if (args.response === true) {
    if (args.apiKey === undefined || args.apiVersion === undefined) {
      throw new UsageError(
        '--response needs --api-key and --api-version (a response does not say which request it answers)',
      )
    }
    apiKey = parseApiKey(args.apiKey)
    apiVersion = parseApiVersion(args.apiVersion)
  } else if (args.apiKey !== undefined || args.apiVersion !== undefined) {
    throw new UsageError('--api-key and --api-version go with --response; a request header carries its own')
  }

  const input = readInput(args, stdin)
  const start = args.framed === true ? checkFramePrefix(input, apiKey, apiVersion) : 0
  const offsetNote = args.framed === true ? ' (byte offsets count from the start of the length prefix)' : ''

  let decoded: RequestMessage | ResponseMessage
  try {
    decoded = decodeAt(input, start, apiKey, apiVersion)
  } catch (err) {
    if (!(err instanceof CodecError)) throw err
    const hint = args.framed === true ? unframedHint(input, apiKey, apiVersion) : framedHint(input, apiKey, apiVersion)
    return fail(
      `cannot decode ${describeFrame(input, start, apiKey, apiVersion)}: ${err.message}${offsetNote}${hint ?? ''}`,
      err.code,
    )
  }

  const rendered =
    apiKey === undefined
      ? requestToJson(decoded as RequestMessage, { source: input })
      : responseToJson(decoded as ResponseMessage, { source: input })
  const stdout = `${JSON.stringify(rendered.json, null, args.compact === true ? undefined : 2)}\n`
  let stderr = rendered.problems
    .map((p) => `warning ${p.code}: ${p.path}: ${p.message}${p.offset === undefined ? '' : ` (at byte ${p.offset})`}\n`)
    .join('')

  if (args.checkRoundtrip !== true) return { exitCode: DecodeExit.Ok, stdout, stderr }

  let encoded: Buffer
  try {
    encoded =
      apiKey === undefined
        ? encodeRequest(decoded.header as RequestMessage['header'], decoded.body)
        : encodeResponse(apiKey, apiVersion!, decoded.header as ResponseMessage['header'], decoded.body)
  } catch (err) {
    if (!(err instanceof CodecError)) throw err
    stderr += `roundtrip mismatch: the decoded frame cannot be re-encoded: ${err.message}\n`
    return { exitCode: DecodeExit.RoundtripMismatch, stdout, stderr }
  }
  // encode* returns the frame with its prefix; compare like with like.
  const expected = input
  const actual = start === 4 ? encoded : encoded.subarray(4)
  const at = firstDifference(expected, actual)
  if (at === -1) {
    stderr += `roundtrip ok: re-encoding gives the same ${expected.length} bytes\n`
    return { exitCode: DecodeExit.Ok, stdout, stderr }
  }
  const byte = (b: Buffer) => (at < b.length ? `0x${b[at]!.toString(16).padStart(2, '0')}` : 'end of data')
  stderr +=
    `roundtrip mismatch: re-encoding differs from the input at byte ${at} (input ${byte(expected)}, re-encoded ${byte(actual)}); ` +
    `input ${expected.length} bytes, re-encoded ${actual.length} bytes${offsetNote}\n`
  return { exitCode: DecodeExit.RoundtripMismatch, stdout, stderr }
}

function parseApiKey(value: number | string): number {
  const text = String(value).trim()
  if (/^\d+$/.test(text)) {
    const key = Number(text)
    if (API_DEFINITIONS[key] === undefined) throw new UsageError(`--api-key ${text} is not an API key the codec knows`)
    return key
  }
  const api = Object.values(API_DEFINITIONS).find((a) => a !== undefined && a.name.toLowerCase() === text.toLowerCase())
  if (api === undefined)
    throw new UsageError(`--api-key "${text}" is neither a number nor an API name such as Fetch or Metadata`)
  return api.apiKey
}

function parseApiVersion(value: number | string): number {
  const text = String(value).trim()
  if (!/^\d+$/.test(text) || Number(text) > 32767)
    throw new UsageError(`--api-version "${text}" is not a version number 0-32767`)
  return Number(text)
}

function readInput(args: DecodeArgs, stdin: Buffer): Buffer {
  if (args.hex !== undefined && args.hex !== false) {
    const text = typeof args.hex === 'string' && args.hex.trim() !== '' ? args.hex : stdin.toString('utf8')
    return parseHex(text)
  }
  if (stdin.length === 0) throw new InputError('no input: pipe a frame body on stdin, or pass it as --hex <hex>')
  return stdin
}

/** Hex text to bytes: whitespace anywhere, an optional leading 0x. Offsets in errors are character positions. */
export function parseHex(text: string): Buffer {
  let s = text.replace(/\s+/g, '')
  if (s.startsWith('0x') || s.startsWith('0X')) s = s.slice(2)
  if (s === '') throw new InputError('no input: the hex text is empty')
  const bad = s.search(/[^0-9a-fA-F]/)
  if (bad >= 0) {
    throw new InputError(
      `--hex input: ${JSON.stringify(s[bad])} is not a hex digit (hex digit ${bad}, whitespace and 0x prefix not counted)`,
    )
  }
  if (s.length % 2 !== 0)
    throw new InputError(`--hex input: odd number of hex digits (${s.length}); each byte takes two`)
  return Buffer.from(s, 'hex')
}

/** Checks the 4-byte length prefix of a framed input; returns where the body starts. */
function checkFramePrefix(input: Buffer, apiKey?: number, apiVersion?: number): number {
  if (input.length < 4) {
    throw new InputError(
      `--framed input of ${input.length} byte(s) is shorter than the 4-byte length prefix${unframedHint(input, apiKey, apiVersion) ?? ''}`,
    )
  }
  const declared = input.readInt32BE(0)
  const actual = input.length - 4
  if (declared !== actual) {
    throw new InputError(
      `the length prefix says ${declared} bytes but ${actual} follow it${declared > actual ? ' (capture cut short?)' : ' (more than one frame, or trailing bytes?)'}` +
        (unframedHint(input, apiKey, apiVersion) ?? '; without the prefix, leave out --framed'),
      0,
    )
  }
  return 4
}

function decodeAt(
  input: Buffer,
  start: number,
  apiKey?: number,
  apiVersion?: number,
): RequestMessage | ResponseMessage {
  return apiKey === undefined ? decodeRequest(input, start) : decodeResponse(input, apiKey, apiVersion!, start)
}

/** True when the input decodes, whole, from `start`: the other reading a hint may suggest. */
function decodesFrom(input: Buffer, start: number, apiKey?: number, apiVersion?: number): boolean {
  try {
    decodeAt(input, start, apiKey, apiVersion)
    return true
  } catch {
    return false // only a hint: whatever the codec says about the other reading is not the user's question
  }
}

/**
 * Read without --framed, an input that still starts with its length prefix takes the prefix for the header: the
 * first two bytes of a prefix under 64 KiB read as API key 0 (Produce) and the next two as a version such as 36.
 * When the prefix matches the bytes after it and the rest decodes, say so.
 */
function framedHint(input: Buffer, apiKey?: number, apiVersion?: number): string | undefined {
  if (input.length < 4 || input.readInt32BE(0) !== input.length - 4) return undefined
  if (!decodesFrom(input, 4, apiKey, apiVersion)) return undefined
  return `; the input starts with a 4-byte length prefix (${input.length - 4}, the bytes that follow it) and decodes as ${describeFrame(input, 4, apiKey, apiVersion)} after it: add --framed`
}

/** The reverse: with --framed on an input that has no prefix, the first four bytes of the header become one. */
function unframedHint(input: Buffer, apiKey?: number, apiVersion?: number): string | undefined {
  if (!decodesFrom(input, 0, apiKey, apiVersion)) return undefined
  return `; without a length prefix the input decodes as ${describeFrame(input, 0, apiKey, apiVersion)}: leave out --framed`
}

function describeFrame(input: Buffer, start: number, apiKey?: number, apiVersion?: number): string {
  if (apiKey !== undefined) return `${API_DEFINITIONS[apiKey]?.name ?? `API ${apiKey}`} response v${apiVersion}`
  if (input.length - start < 4) return 'request'
  const key = input.readInt16BE(start)
  const version = input.readInt16BE(start + 2)
  return `${API_DEFINITIONS[key]?.name ?? `API key ${key}`} request v${version}`
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i
  return a.length === b.length ? -1 : n
}

export const decodeCommand: CliCommand = {
  command: 'decode',
  describe: 'Decode one captured Kafka frame (request or response) and print it as JSON',
  builder: (y) =>
    y
      .option('request', { type: 'boolean', describe: 'the input is a request (its header names the API)' })
      .option('response', { type: 'boolean', describe: 'the input is a response; needs --api-key and --api-version' })
      .option('api-key', {
        type: 'string',
        describe: 'API of the request this response answers: number or name (Fetch)',
        requiresArg: true,
      })
      .option('api-version', { type: 'string', describe: 'version of that request', requiresArg: true })
      .option('hex', {
        type: 'string',
        describe: 'input is hex text: the value given, or stdin when none (whitespace and 0x allowed)',
      })
      .option('framed', { type: 'boolean', describe: 'the input starts with the 4-byte length prefix (checked)' })
      .option('check-roundtrip', {
        type: 'boolean',
        describe: 'exit 1 when re-encoding the decoded frame does not give the same bytes',
      })
      .option('compact', { type: 'boolean', describe: 'print JSON on one line' })
      .conflicts('request', 'response')
      .example('$0 decode --request < produce.bin', 'decode a request frame body captured to a file')
      .example('$0 decode --request --hex "00 03 00 0c 00 00 00 07 ..."', 'decode hex given inline')
      .example(
        '$0 decode --response --api-key Fetch --api-version 17 --framed < fetch.bin',
        'a response, length prefix included',
      )
      .example(
        'xxd -p frame.bin | $0 decode --request --hex --check-roundtrip',
        'check the codec re-encodes it byte for byte',
      )
      .epilogue('Exit codes: 0 decoded, 1 roundtrip mismatch, 2 bad input or usage.'),
  handler: async (parsed) => {
    const argv = parsed as DecodeArgs
    if (decodeNeedsStdin(argv) && process.stdin.isTTY) {
      emit(fail('no input on stdin (it is a terminal): pipe a frame into it, or pass --hex <hex>', 'KSC_ERR_CLI_INPUT'))
      return
    }
    emit(runDecode(argv, decodeNeedsStdin(argv) ? await readStdin() : undefined))
  },
}
