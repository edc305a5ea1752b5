import { describe, expect, it } from 'vitest'
import { decodeResponse, encodeResponse } from '../../../codec/messages/frames.js'
import { ApiKey } from '../../../codec/messages/generated/apis.js'
import type { FetchResponse } from '../../../codec/messages/generated/fetch-response.js'
import {
  canStreamTopicRename,
  renameTopics,
  type TopicRename,
  TopicRenameStream,
} from '../../../codec/messages/topic-rename-stream.js'
import { fetchResponse, frameOf, prng, split } from '../../support/fetch-responses.js'

/** What decoding, renaming the decoded message and encoding it again gives (the held path's result). */
function renamedByReencoding(frame: Buffer, version: number, rename: TopicRename): Buffer {
  const d = decodeResponse(frame, ApiKey.Fetch, version, 4)
  const body = d.body as FetchResponse
  body.responses = body.responses.flatMap((t) => {
    const to = rename(t.topic!)
    return to === undefined ? [] : [{ ...t, topic: to }]
  })
  return encodeResponse(ApiKey.Fetch, version, d.header, body)
}

const canary: TopicRename = (name) =>
  name === 'orders' ? 'orders-canary' : name === 'payments' ? 'p' : name === 'hidden' ? undefined : name

/** The canary rename, noting each name it is asked for. */
const asking =
  (asked: string[]): TopicRename =>
  (name) => {
    asked.push(name)
    return canary(name)
  }

const VERSIONS = [4, 5, 6, 7, 8, 9, 10, 11, 12]

describe('renaming the topics of a Fetch response as it streams', () => {
  it('streams exactly the versions that name topics', () => {
    for (const v of VERSIONS) expect(canStreamTopicRename(ApiKey.Fetch, v, 'response')).toBe(true)
    expect(canStreamTopicRename(ApiKey.Fetch, 13, 'response')).toBe(false)
    expect(canStreamTopicRename(ApiKey.Fetch, 3, 'response')).toBe(false)
    expect(canStreamTopicRename(ApiKey.Produce, 9, 'response')).toBe(false)
  })

  const cases: { what: string; topics: string[]; rename: TopicRename }[] = [
    { what: 'one topic renamed longer', topics: ['orders'], rename: canary },
    { what: 'several topics, some renamed, one shorter', topics: ['orders', 'audit', 'payments'], rename: canary },
    { what: 'a topic left out in the middle', topics: ['orders', 'hidden', 'audit'], rename: canary },
    { what: 'the last topic left out', topics: ['audit', 'orders', 'hidden'], rename: canary },
    { what: 'every topic left out', topics: ['hidden'], rename: canary },
    { what: 'nothing renamed', topics: ['audit', 'other'], rename: canary },
    { what: 'no topics', topics: [], rename: canary },
    { what: 'a name of 200 characters (a longer varint)', topics: ['orders'], rename: () => 'x'.repeat(200) },
  ]

  for (const v of VERSIONS) {
    for (const c of cases) {
      it(`v${v}: ${c.what}, whole and in pieces split anywhere, equals decode + rename + encode`, () => {
        const frame = frameOf(v, fetchResponse(v, c.topics))
        const expected = renamedByReencoding(frame, v, c.rename)
        expect(Buffer.concat(renameTopics([frame], frame.length, v, c.rename))).toEqual(expected)
        const random = prng(v * 1000 + c.topics.length)
        for (let round = 0; round < 25; round++) {
          const pieces = split(frame, random, 1 + Math.floor(random() * 40))
          const out = renameTopics(pieces, frame.length, v, c.rename)
          expect(Buffer.concat(out)).toEqual(expected)
        }
        // Byte by byte: every offset is a split.
        const bytes = [...frame].map((b) => Buffer.from([b]))
        expect(Buffer.concat(renameTopics(bytes, frame.length, v, c.rename))).toEqual(expected)
      })
    }
  }

  it('passes the records on as views of the input, never copies', () => {
    const v = 11
    const frame = frameOf(v, fetchResponse(v, ['orders', 'audit'], 4))
    const pieces = split(frame, prng(5), 12)
    const out = renameTopics(pieces, frame.length, v, canary)
    const inputMemory = new Set(pieces.map((p) => p.buffer))
    const copied = out.filter((p) => !inputMemory.has(p.buffer)).reduce((n, p) => n + p.length, 0)
    // New bytes: the size prefix and the one new name (2 + 13 bytes).
    expect(copied).toBe(4 + 2 + 'orders-canary'.length)
  })

  it('asks for each topic name once, and for a single topic streams on after its name', () => {
    const v = 12
    const frame = frameOf(v, fetchResponse(v, ['orders'], 8))
    const asked: string[] = []
    const out: Buffer[] = []
    const stream = new TopicRenameStream(frame.length, v, asking(asked), (p) => out.push(p))
    const pieces = split(frame, prng(9), 30)
    let i = 0
    for (; stream.outputLength < 0; i++) stream.push(pieces[i]!)
    expect(stream.holding).toBe(false)
    // The name lies in the first bytes: the output size is known long before the records have come.
    expect(pieces.slice(0, i).reduce((n, p) => n + p.length, 0)).toBeLessThan(frame.length / 2)
    for (; i < pieces.length; i++) stream.push(pieces[i]!)
    expect(asked).toEqual(['orders'])
    expect(Buffer.concat(out)).toEqual(renamedByReencoding(frame, v, canary))
    expect(stream.outputLength).toBe(Buffer.concat(out).length)
  })

  it('holds the input of several topics up to the last one’s name, asking each name once', () => {
    const v = 9
    const frame = frameOf(v, fetchResponse(v, ['orders', 'audit', 'payments'], 2))
    const asked: string[] = []
    const out: Buffer[] = []
    const stream = new TopicRenameStream(frame.length, v, asking(asked), (p) => out.push(p))
    let received = 0
    for (const p of split(frame, prng(3), 200)) {
      stream.push(p)
      received += p.length
      if (stream.outputLength < 0) {
        expect(out).toEqual([])
        expect(stream.heldBytes).toBe(received)
      } else expect(stream.heldBytes).toBe(0)
    }
    expect(asked).toEqual(['orders', 'audit', 'payments'])
    expect(Buffer.concat(out)).toEqual(renamedByReencoding(frame, v, canary))
  })

  it('refuses a response that ends before its names do', () => {
    const v = 11
    const frame = frameOf(v, fetchResponse(v, ['orders', 'audit']))
    // The size prefix says the frame ends inside the first topic's partitions.
    const cut = Buffer.from(frame.subarray(0, 60))
    cut.writeInt32BE(56, 0)
    expect(() => renameTopics([cut], cut.length, v, canary)).toThrow(/truncated/)
    expect(() => renameTopics([frame, Buffer.alloc(1)], frame.length, v, canary)).toThrow()
  })
})
