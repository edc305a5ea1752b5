import { describe, expect, it } from 'vitest'
import { parseTopicRewriteConfig, SHADOW_DEFAULTS } from '../../../filters/topic-rewrite/config.js'
import { topicRewritePlugin } from '../../../filters/topic-rewrite/index.js'

const canary = { clients: { ids: ['orders-v2'] }, topics: [{ exact: 'orders', to: 'orders-canary' }] }

describe('topic-rewrite config', () => {
  it('reads rules with defaults', () => {
    const c = parseTopicRewriteConfig({ rules: [canary] })
    expect(c.rules).toEqual([
      {
        name: 'rule-0',
        mode: 'rewrite',
        clients: {
          ids: ['orders-v2'],
          idPatterns: [],
          principals: [],
          principalPatterns: [],
          percent: 100,
          seed: 'rule-0',
        },
        topics: [{ kind: 'exact', from: 'orders', to: 'orders-canary' }],
        groups: [],
        transactionalIds: [],
      },
    ])
    expect(c.shadow).toEqual(SHADOW_DEFAULTS)
    expect(c.regexRefreshMs).toBe(10_000)
  })

  it('reads every kind of name rule, shadow settings and acks: all', () => {
    const c = parseTopicRewriteConfig({
      rules: [
        {
          name: 'c',
          clients: { percent: 12.5, seed: 'x' },
          topics: [
            { prefix: 'a.', to: 'b.' },
            { regex: '(.*)', to: 'canary.$1' },
          ],
          groups: [{ prefix: '', to: 'canary-' }],
          transactionalIds: [
            { regex: 'tx-(.*)', to: 'canary-tx-$1', reverse: { regex: 'canary-tx-(.*)', to: 'tx-$1' } },
          ],
        },
        { name: 's', mode: 'shadow', clients: { percent: 100 }, topics: [{ exact: 'orders', to: 'orders-shadow' }] },
      ],
      shadow: { maxQueuedRecords: 5, acks: 'all', partition: 'key' },
    })
    expect(c.rules[0]!.topics[1]).toEqual({ kind: 'regex', from: '(.*)', to: 'canary.$1' })
    expect(c.rules[0]!.groups).toEqual([{ kind: 'prefix', from: '', to: 'canary-' }])
    expect(c.rules[1]!.mode).toBe('shadow')
    expect(c.shadow).toMatchObject({ maxQueuedRecords: 5, acks: -1, partition: 'key' })
  })

  it.each([
    [{}, /rules: expected a non-empty list/],
    [{ rules: [{ topics: canary.topics }] }, /rules\[0\]\.clients: missing/],
    [{ rules: [{ clients: {}, topics: canary.topics }] }, /rules\[0\]\.clients: select clients with at least one/],
    [{ rules: [{ ...canary, clients: { percent: 101 } }] }, /clients\.percent: expected a number from 0 to 100/],
    [
      { rules: [{ ...canary, clients: { idPatterns: ['('] } }] },
      /clients\.idPatterns\[0\]: not a valid regular expression/,
    ],
    [
      { rules: [{ ...canary, topics: [{ exact: 'a', prefix: 'b', to: 'c' }] }] },
      /give exactly one of exact, prefix, regex/,
    ],
    [{ rules: [{ ...canary, topics: [{ exact: 'a', to: 'a' }] }] }, /maps "a" to itself/],
    [{ rules: [{ ...canary, topics: [{ exact: 'a', to: 'b', reverse: {} }] }] }, /only regex rules take a reverse/],
    [{ rules: [{ ...canary, mode: 'mirror' }] }, /mode: expected rewrite or shadow/],
    [
      { rules: [{ ...canary, mode: 'shadow', groups: [{ prefix: '', to: 'c-' }] }] },
      /shadow rule copies produced records only/,
    ],
    [{ rules: [{ clients: { ids: ['a'] } }] }, /maps nothing/],
    [
      {
        rules: [
          { ...canary, name: 'a' },
          { ...canary, name: 'a' },
        ],
      },
      /rules\[1\]\.name: "a" is used twice/,
    ],
    [{ rules: [canary], shadow: { acks: 2 } }, /shadow\.acks/],
    [{ rules: [canary], shadow: { partition: 'random' } }, /shadow\.partition/],
    [{ rules: [canary], colour: 'blue' }, /config\.colour: unknown key/],
  ])('refuses %j', (raw, message) => {
    expect(() => parseTopicRewriteConfig(raw)).toThrow(message)
  })

  it('the plugin refuses a regex rule whose way back it cannot derive, at parse time', () => {
    expect(() =>
      topicRewritePlugin.parseConfig({ rules: [{ ...canary, topics: [{ regex: '.*x(.*)', to: 'y$1' }] }] }),
    ).toThrow(/rules\[0\]\.topics\[0\]: cannot derive the way back/)
  })
})
