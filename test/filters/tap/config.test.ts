import { describe, expect, it } from 'vitest'
import { parseConfig, parseTapSpec } from '../../../filters/tap/config.js'

describe('tap config', () => {
  it('defaults: no taps, control on loopback, a bounded queue, the host name as instance', () => {
    const c = parseConfig({})
    expect(c.taps).toEqual([])
    expect(c.control).toEqual({ enabled: true, allowRemote: false, maxDurationMs: 3_600_000 })
    expect(c.queue).toEqual({ maxBytes: 8 * 1024 * 1024, maxRecords: 10_000 })
    expect(c.instance).not.toBe('')
  })

  it('a tap with every selection, sampling and redaction', () => {
    const c = parseConfig({
      instance: 'pod-a',
      clusters: {
        debug: { bootstrap: ['tap-kafka:9092'], sasl: { mechanism: 'PLAIN', username: 'u', password: 'p' } },
      },
      taps: [
        {
          name: 'orders',
          topic: 'tap.orders',
          cluster: 'debug',
          acks: 'all',
          compression: 'lz4',
          match: {
            direction: 'both',
            clientIdRegex: '^orders-',
            principal: 'shop/orders',
            topics: ['orders'],
            topicPrefixes: 'orders.',
            topicRegex: '^payments-[0-9]+$',
          },
          sample: { rate: 0.1, by: 'batches' },
          redact: ['card.number', '**.password'],
        },
      ],
    })
    expect(c.instance).toBe('pod-a')
    expect(c.clusters.debug).toMatchObject({ bootstrap: ['tap-kafka:9092'], clientId: 'kafka-sidecar-tap' })
    expect(c.taps[0]).toEqual({
      name: 'orders',
      topic: 'tap.orders',
      cluster: 'debug',
      acks: -1,
      compression: 'lz4',
      match: {
        directions: ['produce', 'fetch'],
        clientIdRegex: '^orders-',
        principal: 'shop/orders',
        topics: ['orders'],
        topicPrefixes: ['orders.'],
        topicRegex: '^payments-[0-9]+$',
      },
      sample: { rate: 0.1, by: 'batches' },
      metadataOnly: false,
      redact: ['card.number', '**.password'],
    })
  })

  it('createTopic: true takes the cluster defaults; a layout may be given', () => {
    const taps = parseConfig({
      taps: [
        { name: 'a', topic: 'x', createTopic: true },
        { name: 'b', topic: 'y', createTopic: { partitions: 8 } },
        { name: 'c', topic: 'z' },
      ],
    }).taps
    expect(taps.map((t) => t.createTopic)).toEqual([
      { partitions: -1, replicationFactor: -1 },
      { partitions: 8, replicationFactor: -1 },
      undefined,
    ])
    expect(() => parseConfig({ taps: [{ name: 'a', topic: 'x', createTopic: { partitions: 0 } }] })).toThrow(
      /createTopic: partitions and replicationFactor are at least 1/,
    )
  })

  it('sample as a bare rate; direction defaults to produce', () => {
    const t = parseConfig({ taps: [{ name: 't', topic: 'x', sample: 0.25 }] }).taps[0]!
    expect(t.sample).toEqual({ rate: 0.25, by: 'records' })
    expect(t.match.directions).toEqual(['produce'])
    expect(t.acks).toBe(1)
  })

  it.each([
    [{ taps: [{ name: 't' }] }, /taps\[0\]\.topic: expected the destination topic/],
    [{ taps: [{ name: 'a b', topic: 'x' }] }, /taps\[0\]\.name: "a b" may use letters/],
    [{ taps: [{ name: 't', topic: 'x', cluster: 'nope' }] }, /taps\[0\]\.cluster: no cluster "nope"/],
    [{ taps: [{ name: 't', topic: 'x', sample: 0 }] }, /taps\[0\]\.sample\.rate: expected a number above 0/],
    [{ taps: [{ name: 't', topic: 'x', sample: 1.5 }] }, /sample\.rate/],
    [{ taps: [{ name: 't', topic: 'x', match: { topicRegex: '(' } }] }, /topicRegex: not a valid regular expression/],
    [
      { taps: [{ name: 't', topic: 'x', match: { clientId: 'a', clientIdRegex: 'b' } }] },
      /both clientId and clientIdRegex/,
    ],
    [
      { taps: [{ name: 't', topic: 'x', match: { direction: 'up' } }] },
      /direction: expected one of produce, fetch, both/,
    ],
    [{ taps: [{ name: 't', topic: 'x', metadataOnly: true, redact: ['a'] }] }, /metadataOnly copies no values/],
    [{ taps: [{ name: 't', topic: 'x', redact: ['a..b'] }] }, /empty segment/],
    [{ taps: [{ name: 't', topic: 'x', acks: 2 }] }, /acks: expected 0, 1, -1 or all/],
    [{ taps: [{ name: 't', topic: 'x', durationMs: 10 }] }, /taps\[0\]\.durationMs: unknown key/],
    [
      {
        taps: [
          { name: 't', topic: 'x' },
          { name: 't', topic: 'y' },
        ],
      },
      /taps\[1\]\.name: "t" is used by another tap/,
    ],
    [{ clusters: { c: {} } }, /clusters\.c\.bootstrap: is missing/],
    [{ clusters: { c: { bootstrap: 'nohost' } } }, /clusters\.c\.bootstrap\[0\]: "nohost" is not host:port/],
    [{ clusters: { c: { bootstrap: 'h:1', tls: { cert: 'a.pem' } } } }, /cert and key go together/],
    [{ clusters: { c: { bootstrap: 'h:1', sasl: { username: 'u' } } } }, /exactly one of password and passwordFile/],
    [{ queue: { maxBytes: 10 } }, /queue\.maxBytes: expected an integer from 1024/],
    [{ control: { allowRemote: 'yes' } }, /control\.allowRemote: expected true or false/],
    [{ tapz: [] }, /tapz: unknown key/],
  ])('rejects %j naming the key', (raw, message) => {
    expect(() => parseConfig(raw)).toThrow(message)
  })

  it('admin taps must say how long they run, within control.maxDurationMs', () => {
    const admin = { admin: { maxDurationMs: 60_000 }, clusters: [] }
    expect(() => parseTapSpec({ name: 't', topic: 'x' }, 'tap', admin)).toThrow(/tap\.durationMs: is missing/)
    expect(() => parseTapSpec({ name: 't', topic: 'x', durationMs: 61_000 }, 'tap', admin)).toThrow(
      /durationMs: expected an integer from 1 to 60000/,
    )
    expect(parseTapSpec({ name: 't', topic: 'x', durationMs: 5_000 }, 'tap', admin).durationMs).toBe(5_000)
  })
})
