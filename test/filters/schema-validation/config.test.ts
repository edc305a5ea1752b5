import { describe, expect, it } from 'vitest'
import { parseSchemaValidationConfig } from '../../../filters/schema-validation/config.js'

const parse = (raw: unknown) => () => parseSchemaValidationConfig(raw)

describe('schema-validation config', () => {
  it('fills defaults: confluent framing, TopicNameStrategy, fail-closed, nulls allowed', () => {
    const c = parseSchemaValidationConfig({
      registry: { url: 'http://r:8080/apis/ccompat/v7/' },
      rules: [{ topicRegex: '^orders\\.', value: { registry: {} } }],
    })
    expect(c.registry).toMatchObject({ url: 'http://r:8080/apis/ccompat/v7', timeoutMs: 5000, cacheMaxSchemas: 1000 })
    expect(c.rules[0]).toMatchObject({
      name: '/^orders\\./',
      onRegistryDown: 'fail-closed',
      value: { allowNull: true, source: { kind: 'registry', framing: 'confluent', subject: 'topic' } },
    })
  })

  it('names the key and what was expected', () => {
    expect(parse({ rules: [] })).toThrow('filters: schema-validation: rules: expected a non-empty list of rules')
    expect(parse({ rules: [{ topic: 'a', topicPrefix: 'b', value: { registry: {} } }] })).toThrow(
      'rules[0]: expected exactly one of topic (exact name), topicPrefix or topicRegex',
    )
    expect(parse({ rules: [{ topic: 'a', value: { registry: {} } }] })).toThrow(
      'rules[0].value.registry: needs the registry section (registry.url)',
    )
    expect(parse({ rules: [{ topic: 'a', value: { file: 'x.avsc' } }] })).toThrow(
      'rules[0].value.format: required with file: one of avro, json-schema, protobuf',
    )
    expect(parse({ rules: [{ topic: 'a', value: { format: 'xml', file: 'x' } }] })).toThrow(
      'rules[0].value.format: expected one of avro, json-schema, protobuf, got "xml"',
    )
    expect(parse({ rules: [{ topicRegex: '(', value: { format: 'avro', file: 'x' } }] })).toThrow(
      /rules\[0\].topicRegex: not a regular expression/,
    )
    expect(parse({ rules: [{ topic: 'a' }] })).toThrow('rules[0]: checks nothing: give key, value or requiredHeaders')
    expect(parse({ rules: [{ topic: 'a', requiredHeaders: ['x'], onRegistryDown: 'maybe' }] })).toThrow(
      'rules[0].onRegistryDown: expected one of fail-open, fail-closed, got "maybe"',
    )
    expect(parse({ registry: { url: 'ftp://r' }, rules: [{ topic: 'a', requiredHeaders: ['x'] }] })).toThrow(
      'registry.url: expected an http:// or https:// URL',
    )
    expect(parse({ registry: { url: 'http://u:p@r' }, rules: [{ topic: 'a', requiredHeaders: ['x'] }] })).toThrow(
      'registry.url: put credentials under registry.auth, not in the URL',
    )
    expect(
      parse({
        registry: { url: 'http://r', auth: { basic: { username: 'u' } } },
        rules: [{ topic: 'a', requiredHeaders: ['x'] }],
      }),
    ).toThrow('registry.auth.basic: expected exactly one of password or passwordFile')
    expect(parse({ rules: [{ topic: 'a', value: { format: 'avro', file: 'x', registry: {} } }] })).toThrow(
      'rules[0].value: expected exactly one of registry',
    )
    expect(parse({ rules: [{ topic: 'a', requiredHeaders: ['x'], extra: 1 }] })).toThrow('rules[0].extra: unknown key')
  })
})
