import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { encodeRequest, encodeResponse } from '../../codec/messages/frames.js'
import { CompressionType, encodeEndTxnMarkerBatch, encodeRecordBatch } from '../../codec/records/index.js'
import { type DecodeArgs, parseHex, runDecode } from '../../src/commands/decode.js'

const REPO = fileURLToPath(new URL('../..', import.meta.url))

/** A Metadata v12 request frame (with its length prefix) and its body. */
function metadataRequest() {
  const frame = encodeRequest(
    { requestApiKey: 3, requestApiVersion: 12, correlationId: 7, clientId: 'app' },
    {
      topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'orders' }],
      allowAutoTopicCreation: true,
      includeTopicAuthorizedOperations: false,
    },
  )
  return { frame, body: frame.subarray(4) }
}

function decodeJson(args: DecodeArgs, input: Buffer | string) {
  const result = runDecode(args, typeof input === 'string' ? Buffer.from(input) : input)
  return { ...result, json: result.stdout === '' ? undefined : JSON.parse(result.stdout) }
}

const T0 = 1_700_000_000_000n

describe('decode', () => {
  it('decodes a request body from binary input, with the API named', () => {
    const { body } = metadataRequest()
    const out = decodeJson({ request: true }, body)
    expect(out.exitCode).toBe(0)
    expect(out.stderr).toBe('')
    expect(out.json).toEqual({
      type: 'request',
      apiKey: 3,
      api: 'Metadata',
      apiVersion: 12,
      headerVersion: 2,
      header: { requestApiKey: 3, requestApiVersion: 12, correlationId: 7, clientId: 'app' },
      body: {
        topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'orders' }],
        allowAutoTopicCreation: true,
        includeTopicAuthorizedOperations: false,
      },
    })
  })

  it('takes hex with whitespace, newlines and 0x, inline or on stdin, and framed input', () => {
    const { frame, body } = metadataRequest()
    const expected = decodeJson({ request: true }, body).json
    const spaced = `0x${body
      .toString('hex')
      .replace(/(..)/g, '$1 ')
      .replace(/((?:.. ){8})/g, '$1\n')}`
    expect(spaced).toContain('\n')
    expect(decodeJson({ request: true, hex: spaced }, '').json).toEqual(expected)
    expect(decodeJson({ request: true, hex: '' }, spaced).json).toEqual(expected) // --hex without a value: stdin
    expect(decodeJson({ request: true, hex: true, framed: true }, frame.toString('hex')).json).toEqual(expected)
    expect(decodeJson({ request: true, framed: true }, frame).json).toEqual(expected)
  })

  it('renders the record batches of a Produce request with their records', () => {
    const batch = encodeRecordBatch(
      [
        {
          key: Buffer.from('order-1'),
          value: Buffer.from('{"qty":2}'),
          timestamp: T0,
          headers: [{ key: 'trace', value: Buffer.from('abc') }],
        },
        {
          key: null,
          value: Buffer.from([0x00, 0xff, 0x10]),
          timestamp: T0 + 5n,
          headers: [{ key: 'none', value: null }],
        },
      ],
      { baseOffset: 0n, producerId: 42n, producerEpoch: 1, baseSequence: 10, compression: CompressionType.Gzip },
    )
    const frame = encodeRequest(
      { requestApiKey: 0, requestApiVersion: 9, correlationId: 99, clientId: 'producer-1' },
      {
        transactionalId: null,
        acks: -1,
        timeoutMs: 30_000,
        topicData: [{ name: 'orders', partitionData: [{ index: 3, records: batch }] }],
      },
    )
    const out = decodeJson({ request: true, framed: true, checkRoundtrip: true }, frame)
    expect(out.exitCode).toBe(0)
    expect(out.stderr).toBe(`roundtrip ok: re-encoding gives the same ${frame.length} bytes\n`)
    expect(out.json.api).toBe('Produce')
    const partition = out.json.body.topicData[0].partitionData[0]
    expect(partition.index).toBe(3)
    expect(partition.records).toHaveLength(1)
    const [b] = partition.records
    expect(b).toMatchObject({
      position: frame.indexOf(batch), // offset of the batch in the input as given
      baseOffset: 0,
      magic: 2,
      crcValid: true,
      compression: 'gzip',
      timestampType: 'CreateTime',
      isTransactional: false,
      isControl: false,
      lastOffsetDelta: 1,
      baseTimestamp: Number(T0),
      maxTimestamp: Number(T0 + 5n),
      producerId: 42,
      producerEpoch: 1,
      baseSequence: 10,
      recordCount: 2,
    })
    expect(b.records).toEqual([
      {
        offset: 0,
        timestamp: Number(T0),
        key: 'order-1',
        value: '{"qty":2}',
        headers: [{ key: 'trace', value: 'abc' }],
      },
      {
        offset: 1,
        timestamp: Number(T0 + 5n),
        key: null,
        value: { base64: 'AP8Q' },
        headers: [{ key: 'none', value: null }],
      },
    ])
  })

  it('renders a Fetch response: int64 beyond 2^53 as strings, control batches, a partial trailing batch', () => {
    const data = encodeRecordBatch([{ key: null, value: Buffer.from('hello'), timestamp: T0 }], {
      baseOffset: 100n,
      producerId: 7n,
      producerEpoch: 0,
      isTransactional: true,
    })
    const marker = encodeEndTxnMarkerBatch({
      commit: true,
      coordinatorEpoch: 5,
      producerId: 7n,
      producerEpoch: 0,
      baseOffset: 101n,
    })
    const partial = encodeRecordBatch([{ value: Buffer.from('cut') }], { baseOffset: 102n }).subarray(0, 30)
    const records = Buffer.concat([data, marker, partial])
    const body = {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [
        {
          topicId: 'AAAAAAAAAAAAAAAAAAAAAQ',
          partitions: [
            {
              partitionIndex: 0,
              errorCode: 0,
              highWatermark: 9_007_199_254_740_993n, // 2^53 + 1: not exact as a JSON number
              lastStableOffset: 102n,
              logStartOffset: 0n,
              abortedTransactions: null,
              preferredReadReplica: -1,
              records,
            },
          ],
        },
      ],
    }
    const frame = encodeResponse(1, 16, { correlationId: 5 }, body)
    const out = decodeJson(
      { response: true, apiKey: 'fetch', apiVersion: '16', checkRoundtrip: true },
      frame.subarray(4),
    )
    expect(out.exitCode).toBe(0)
    expect(out.json).toMatchObject({
      type: 'response',
      apiKey: 1,
      api: 'Fetch',
      apiVersion: 16,
      header: { correlationId: 5 },
    })
    const p = out.json.body.responses[0].partitions[0]
    expect(p.highWatermark).toBe('9007199254740993')
    expect(p.lastStableOffset).toBe(102)
    expect(p.records).toHaveLength(3)
    expect(p.records[0]).toMatchObject({ baseOffset: 100, isTransactional: true, isControl: false })
    expect(p.records[0].records).toEqual([
      { offset: 100, timestamp: Number(T0), key: null, value: 'hello', headers: [] },
    ])
    expect(p.records[1]).toMatchObject({ baseOffset: 101, isControl: true, isTransactional: true })
    expect(p.records[1].records[0].control).toEqual({ type: 'Commit', keyVersion: 0, coordinatorEpoch: 5 })
    expect(p.records[2]).toMatchObject({ partial: true, sizeInBytes: 30, position: frame.subarray(4).indexOf(partial) })
  })

  it('shows records it cannot read in place, with a warning naming the byte offset, and still exits 0', () => {
    const good = encodeRecordBatch([{ value: Buffer.from('v'), timestamp: T0 }])
    const badCrc = Buffer.from(good)
    badCrc[badCrc.length - 2] = 0x77 // the value 'v' (before the header count) becomes 'w': the CRC no longer matches
    const badMagic = Buffer.from(good)
    badMagic[16] = 9
    const frame = encodeRequest(
      { requestApiKey: 0, requestApiVersion: 3, correlationId: 1, clientId: null },
      {
        transactionalId: null,
        acks: 1,
        timeoutMs: 1000,
        topicData: [{ name: 't', partitionData: [{ index: 0, records: Buffer.concat([badCrc, badMagic]) }] }],
      },
    )
    const body = frame.subarray(4)
    const out = decodeJson({ request: true }, body)
    expect(out.exitCode).toBe(0)
    const batchAt = body.indexOf(badCrc)
    const [first, second] = out.json.body.topicData[0].partitionData[0].records
    expect(first).toMatchObject({ position: batchAt, crcValid: false })
    expect(first.records).toEqual([{ offset: 0, timestamp: Number(T0), key: null, value: 'w', headers: [] }])
    expect(second).toEqual({
      error: 'unknown record batch magic 9',
      code: 'KSC_ERR_CODEC_INVALID_RECORD_BATCH',
      offset: batchAt + good.length + 16,
    })
    expect(out.stderr.split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^warning KSC_ERR_CODEC_CRC_MISMATCH: body.topicData\\[0\\].partitionData\\[0\\].records\\[0\\]: stored CRC 0x[0-9a-f]{8} does not match computed 0x[0-9a-f]{8} \\(at byte ${batchAt + 17}\\)$`,
        ),
      ),
      `warning KSC_ERR_CODEC_INVALID_RECORD_BATCH: body.topicData[0].partitionData[0].records[1]: unknown record batch magic 9 (at byte ${batchAt + good.length + 16})`,
      '',
    ])
  })

  it('names what could not be decoded and the byte offset of a truncated frame', () => {
    const { frame, body } = metadataRequest()
    // Cut inside the body: 14 bytes of header, the topics count at 14, then a 16-byte topic id at 15 with 15 bytes left.
    const cut = body.subarray(0, 30)
    const out = runDecode({ request: true }, cut)
    expect(out.exitCode).toBe(2)
    expect(out.stdout).toBe('')
    expect(out.stderr).toBe(
      'error KSC_ERR_CODEC_TRUNCATED: cannot decode Metadata request v12: truncated input: uuid needs 16 byte(s) but only 15 remain (at byte 15)\n',
    )

    // Framed: the same problem, offsets counting the 4-byte prefix.
    const framed = runDecode({ request: true, framed: true }, Buffer.concat([Buffer.from([0, 0, 0, 30]), cut]))
    expect(framed.exitCode).toBe(2)
    expect(framed.stderr).toContain('remain (at byte 19) (byte offsets count from the start of the length prefix)')

    // A frame whose prefix disagrees with what follows.
    const wrong = runDecode({ request: true, framed: true }, frame.subarray(0, frame.length - 2))
    expect(wrong.exitCode).toBe(2)
    expect(wrong.stderr).toBe(
      `error KSC_ERR_CLI_INPUT: the length prefix says ${frame.length - 4} bytes but ${frame.length - 6} follow it (capture cut short?); without the prefix, leave out --framed (at byte 0)\n`,
    )
  })

  it('hints at --framed when the input still has its length prefix, and the reverse', () => {
    const { frame, body } = metadataRequest()
    // Read as a body, the prefix 00 00 00 NN is the header: API key 0 (Produce), version NN.
    const unframed = runDecode({ request: true }, frame)
    expect(unframed.exitCode).toBe(2)
    expect(unframed.stderr).toMatch(
      new RegExp(
        `^error KSC_ERR_CODEC_\\w+: cannot decode Produce request v${body.length}: .*; the input starts with a 4-byte length prefix \\(${body.length}, the bytes that follow it\\) and decodes as Metadata request v12 after it: add --framed\n$`,
      ),
    )

    // A body given with --framed: its first four bytes make no sensible prefix.
    const framed = runDecode({ request: true, framed: true }, body)
    expect(framed.exitCode).toBe(2)
    expect(framed.stderr).toBe(
      `error KSC_ERR_CLI_INPUT: the length prefix says ${body.readInt32BE(0)} bytes but ${body.length - 4} follow it (capture cut short?); without a length prefix the input decodes as Metadata request v12: leave out --framed (at byte 0)\n`,
    )

    // Responses too, with the API the caller names.
    const response = encodeResponse(
      3,
      12,
      { correlationId: 7 },
      {
        throttleTimeMs: 0,
        brokers: [],
        clusterId: null,
        controllerId: 1,
        topics: [],
      },
    )
    const responseArgs = { response: true, apiKey: 'Metadata', apiVersion: 12 }
    expect(runDecode(responseArgs, response).stderr).toContain(
      'and decodes as Metadata response v12 after it: add --framed',
    )
    expect(runDecode({ ...responseArgs, framed: true }, response).exitCode).toBe(0)

    // No hint when the other reading fails too.
    const cut = runDecode({ request: true }, frame.subarray(0, 30))
    expect(cut.stderr).not.toContain('--framed')
    const short = runDecode({ request: true, framed: true }, Buffer.from([0, 0]))
    expect(short.stderr).toBe(
      'error KSC_ERR_CLI_INPUT: --framed input of 2 byte(s) is shorter than the 4-byte length prefix\n',
    )
  })

  it('reports unknown API keys and versions the codec cannot decode', () => {
    const unknown = runDecode({ request: true }, Buffer.from('03e7000000000001ffff', 'hex'))
    expect(unknown.exitCode).toBe(2)
    expect(unknown.stderr).toBe(
      'error KSC_ERR_CODEC_UNKNOWN_API_KEY: cannot decode API key 999 request v0: unknown API key 999\n',
    )
    const version = runDecode({ response: true, apiKey: 3, apiVersion: 99 }, Buffer.alloc(8))
    expect(version.exitCode).toBe(2)
    expect(version.stderr).toMatch(
      /^error KSC_ERR_CODEC_UNSUPPORTED_VERSION: cannot decode Metadata response v99: .*versions 0-\d+\n$/,
    )
  })

  it('rejects bad hex and bad usage with exit code 2', () => {
    expect(runDecode({ request: true, hex: '00 0g' }).stderr).toBe(
      'error KSC_ERR_CLI_INPUT: --hex input: "g" is not a hex digit (hex digit 3, whitespace and 0x prefix not counted)\n',
    )
    expect(runDecode({ request: true, hex: '000' }).stderr).toContain('odd number of hex digits (3)')
    expect(runDecode({ request: true }).stderr).toContain('no input: pipe a frame body on stdin')
    const usage = [
      runDecode({}, Buffer.alloc(4)),
      runDecode({ request: true, response: true }, Buffer.alloc(4)),
      runDecode({ response: true, apiKey: 1 }, Buffer.alloc(4)),
      runDecode({ request: true, apiKey: 1 }, Buffer.alloc(4)),
      runDecode({ response: true, apiKey: 'Fetchh', apiVersion: 1 }, Buffer.alloc(4)),
    ]
    for (const u of usage) {
      expect(u.exitCode).toBe(2)
      expect(u.stderr).toMatch(/^error KSC_ERR_CLI_USAGE: .* \(see kafka-sidecar decode --help\)\n$/)
    }
    expect(usage[2]?.stderr).toContain('--response needs --api-key and --api-version')
    expect(parseHex(' 0X0a\n0B ')).toEqual(Buffer.from([10, 11]))
  })

  it('fails the roundtrip check, naming the first differing byte, for a bool of 2', () => {
    const { body } = metadataRequest()
    const bad = Buffer.from(body)
    const boolAt = bad.length - 3 // allowAutoTopicCreation, then includeTopicAuthorizedOperations and tagged fields
    expect(bad[boolAt]).toBe(1)
    bad[boolAt] = 2
    const out = decodeJson({ request: true, checkRoundtrip: true }, bad)
    expect(out.exitCode).toBe(1)
    expect(out.json.body.allowAutoTopicCreation).toBe(true) // it still decodes and prints
    expect(out.stderr).toBe(
      `roundtrip mismatch: re-encoding differs from the input at byte ${boolAt} (input 0x02, re-encoded 0x01); input ${bad.length} bytes, re-encoded ${bad.length} bytes\n`,
    )
  })

  it('fails the roundtrip check for a non-minimal varint', () => {
    const { body } = metadataRequest()
    // The header's tagged-field count (one byte 0x00, right after client id "app") written as two varint bytes.
    const tagAt = 14 - 1
    expect(body.subarray(10, 13).toString()).toBe('app')
    expect(body[tagAt]).toBe(0)
    const bad = Buffer.concat([body.subarray(0, tagAt), Buffer.from([0x80, 0x00]), body.subarray(tagAt + 1)])
    const out = runDecode({ request: true, checkRoundtrip: true, hex: bad.toString('hex') })
    expect(out.exitCode).toBe(1)
    expect(out.stderr).toBe(
      `roundtrip mismatch: re-encoding differs from the input at byte ${tagAt} (input 0x80, re-encoded 0x00); input ${bad.length} bytes, re-encoded ${body.length} bytes\n`,
    )
  })

  it('prints compact JSON on request', () => {
    const out = runDecode({ request: true, compact: true }, metadataRequest().body)
    expect(out.stdout.trim().split('\n')).toHaveLength(1)
  })
})

describe('kafka-sidecar CLI (built)', () => {
  const cli = `${REPO}dist/src/cli.js`
  // `npm test` builds dist/ first (pretest); building here too would rewrite files other test files are running.
  beforeAll(() => {
    expect(existsSync(cli), 'run npm run build (npm test does it) before this test').toBe(true)
  })

  function run(args: string[], input?: Buffer | string) {
    const r = spawnSync(process.execPath, [cli, ...args], { cwd: REPO, input: input ?? '' })
    return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() }
  }

  it('decodes binary stdin and checks the roundtrip', () => {
    const { body } = metadataRequest()
    const r = run(['decode', '--request', '--check-roundtrip'], body)
    expect(r.stderr).toBe(`roundtrip ok: re-encoding gives the same ${body.length} bytes\n`)
    expect(r.status).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ api: 'Metadata', header: { correlationId: 7, clientId: 'app' } })
  })

  it('exits 2 with the byte offset for a truncated frame, 1 for a roundtrip mismatch, 2 for unknown flags', () => {
    const { body } = metadataRequest()
    const truncated = run(['decode', '--request', '--hex', body.subarray(0, 30).toString('hex')])
    expect(truncated.status).toBe(2)
    expect(truncated.stderr).toMatch(/KSC_ERR_CODEC_TRUNCATED: cannot decode Metadata request v12: .*\(at byte \d+\)/)

    const bad = Buffer.from(body)
    bad[bad.length - 3] = 2
    expect(run(['decode', '--request', '--check-roundtrip', '--hex'], bad.toString('hex')).status).toBe(1)

    const unknown = run(['decode', '--request', '--bogus'])
    expect(unknown.status).toBe(2)
    expect(unknown.stderr).toContain('unknown option --bogus for decode')
    expect(run(['decodee']).status).toBe(2)
  })

  it('suggests --framed for a capture that still has its length prefix (hex on the command line)', () => {
    const { frame } = metadataRequest()
    const r = run(['decode', '--request', '--hex', frame.toString('hex')])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('decodes as Metadata request v12 after it: add --framed\n')
    expect(run(['decode', '--request', '--framed', '--hex', frame.toString('hex')]).status).toBe(0)
  })

  it('shows every command and its options in --help', () => {
    const top = run(['--help'])
    expect(top.status).toBe(0)
    expect(top.stdout).toMatch(/kafka-sidecar decode/)
    expect(top.stdout).toMatch(/kafka-sidecar validate-config \[file\]/)
    const validate = run(['validate-config', '--help'])
    for (const flag of [
      '--upstream',
      '--listen',
      '--admin',
      '--broker-port-base',
      '--broker-host',
      '--advertised-host',
      '--log-level',
      '--max-frame-bytes',
    ]) {
      expect(validate.stdout).toContain(flag)
    }
  })
})
