import { describe, expect, it } from 'vitest'
import { decodeRequest, encodeRequest } from '../../../codec/messages/frames.js'
import { ApiKey } from '../../../codec/messages/generated/apis.js'
import type { ProduceRequest } from '../../../codec/messages/generated/produce-request.js'
import type { RequestHeader } from '../../../codec/messages/generated/request-header.js'
import {
  canStreamTopicRename,
  renameTopics,
  type TopicRename,
  TopicRenameStream,
} from '../../../codec/messages/topic-rename-stream.js'
import { prng, split } from '../../support/fetch-responses.js'
import { produceFrameOf, produceRequest } from '../../support/produce-requests.js'

/** What decoding, renaming the decoded request and encoding it again gives (the held path's result). */
function renamedByReencoding(frame: Buffer, rename: TopicRename): Buffer {
  const d = decodeRequest(frame, 4)
  const body = d.body as ProduceRequest
  body.topicData = body.topicData.map((t) => ({ ...t, name: rename(t.name!)! }))
  return encodeRequest(d.header as RequestHeader, body)
}

const canary: TopicRename = (name) => (name === 'orders' ? 'orders-canary' : name === 'payments' ? 'p' : name)

const VERSIONS = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]

describe('renaming the topics of a Produce request as it streams', () => {
  it('streams exactly the request versions that name topics', () => {
    for (const v of VERSIONS) expect(canStreamTopicRename(ApiKey.Produce, v, 'request')).toBe(true)
    expect(canStreamTopicRename(ApiKey.Produce, 13, 'request')).toBe(false)
    expect(canStreamTopicRename(ApiKey.Produce, 2, 'request')).toBe(false)
    expect(canStreamTopicRename(ApiKey.Fetch, 11, 'request')).toBe(false)
    expect(canStreamTopicRename(ApiKey.Produce, 7, 'response')).toBe(false)
  })

  const cases: { what: string; topics: string[]; txn: string | null; clientId: string | null; rename: TopicRename }[] =
    [
      { what: 'one topic renamed longer', topics: ['orders'], txn: null, clientId: 'app', rename: canary },
      {
        what: 'several topics, some renamed, one shorter, transactional',
        topics: ['orders', 'audit', 'payments'],
        txn: 'txn-1',
        clientId: 'app',
        rename: canary,
      },
      { what: 'nothing renamed, no client id', topics: ['audit', 'other'], txn: null, clientId: null, rename: canary },
      { what: 'no topics', topics: [], txn: 'txn-2', clientId: 'app', rename: canary },
      {
        what: 'a name of 200 characters (a longer varint)',
        topics: ['orders', 'audit'],
        txn: null,
        clientId: 'app',
        rename: (n) => (n === 'orders' ? 'x'.repeat(200) : n),
      },
    ]

  for (const v of VERSIONS) {
    for (const c of cases) {
      it(`v${v}: ${c.what}, whole and in pieces split anywhere, equals decode + rename + encode`, () => {
        const frame = produceFrameOf(v, produceRequest(v, c.topics, 3, c.txn), c.clientId)
        const expected = renamedByReencoding(frame, c.rename)
        const whole = (pieces: Buffer[]) =>
          Buffer.concat(renameTopics(pieces, frame.length, v, c.rename, ApiKey.Produce))
        expect(whole([frame])).toEqual(expected)
        const random = prng(v * 1000 + c.topics.length)
        for (let round = 0; round < 25; round++) {
          expect(whole(split(frame, random, 1 + Math.floor(random() * 40)))).toEqual(expected)
        }
        // Byte by byte: every offset is a split.
        expect(whole([...frame].map((b) => Buffer.from([b])))).toEqual(expected)
      })
    }
  }

  it('passes the records on as views of the input, never copies', () => {
    const v = 7
    const frame = produceFrameOf(v, produceRequest(v, ['orders', 'audit'], 4))
    const pieces = split(frame, prng(5), 12)
    const out = renameTopics(pieces, frame.length, v, canary, ApiKey.Produce)
    const inputMemory = new Set(pieces.map((p) => p.buffer))
    const copied = out.filter((p) => !inputMemory.has(p.buffer)).reduce((n, p) => n + p.length, 0)
    // New bytes: the size prefix and the one new name (2 + 13 bytes).
    expect(copied).toBe(4 + 2 + 'orders-canary'.length)
  })

  it('for a single topic streams on after its name, asking for it once', () => {
    const v = 9
    const frame = produceFrameOf(v, produceRequest(v, ['orders'], 8, 'txn'))
    const asked: string[] = []
    const out: Buffer[] = []
    const stream = new TopicRenameStream(
      frame.length,
      v,
      (name) => {
        asked.push(name)
        return canary(name)
      },
      (p) => out.push(p),
      ApiKey.Produce,
    )
    const pieces = split(frame, prng(9), 30)
    let i = 0
    for (; stream.outputLength < 0; i++) stream.push(pieces[i]!)
    expect(stream.holding).toBe(false)
    expect(pieces.slice(0, i).reduce((n, p) => n + p.length, 0)).toBeLessThan(frame.length / 2)
    for (; i < pieces.length; i++) stream.push(pieces[i]!)
    expect(asked).toEqual(['orders'])
    expect(Buffer.concat(out)).toEqual(renamedByReencoding(frame, canary))
    expect(stream.outputLength).toBe(Buffer.concat(out).length)
  })

  it('refuses a request that ends before its names do', () => {
    const v = 7
    const frame = produceFrameOf(v, produceRequest(v, ['orders', 'audit']))
    const cut = Buffer.from(frame.subarray(0, 80))
    cut.writeInt32BE(76, 0)
    expect(() => renameTopics([cut], cut.length, v, canary, ApiKey.Produce)).toThrow(/truncated|bytes remain/)
  })
})
