import avsc from 'avsc'
import protobuf from 'protobufjs'
import { describe, expect, it } from 'vitest'
import { compileSchema, SchemaCompileError } from '../../../filters/schema-validation/validators/index.js'

const ORDER_AVRO = JSON.stringify({
  type: 'record',
  name: 'Order',
  namespace: 'shop',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'amount', type: 'int' },
    { name: 'state', type: { type: 'enum', name: 'State', symbols: ['NEW', 'PAID'] } },
  ],
})

describe('avro', () => {
  const type = avsc.Type.forSchema(JSON.parse(ORDER_AVRO))
  const schema = compileSchema('avro', ORDER_AVRO)
  it('passes a valid encoding and names the record', () => {
    expect(schema.check(type.toBuffer({ id: 'o-1', amount: 5, state: 'PAID' }))).toBeUndefined()
    expect(schema.recordName()).toBe('shop.Order')
  })
  it('refuses a truncated record, trailing bytes and an impossible enum index', () => {
    const good = type.toBuffer({ id: 'o-1', amount: 5, state: 'PAID' })
    expect(schema.check(good.subarray(0, good.length - 2))).toMatch(/end in the middle of it/)
    expect(schema.check(Buffer.concat([good, Buffer.from([1, 2])]))).toMatch(/2 byte\(s\) left after it/)
    const badEnum = Buffer.from(good)
    badEnum[badEnum.length - 1] = 0x0a // enum index 5
    expect(schema.check(badEnum)).toMatch(/not a valid Avro shop.Order/)
  })
  it('resolves named types from references', () => {
    const money = JSON.stringify({
      type: 'record',
      name: 'Money',
      namespace: 'shop',
      fields: [{ name: 'cents', type: 'long' }],
    })
    const withRef = JSON.stringify({
      type: 'record',
      name: 'Payment',
      namespace: 'shop',
      fields: [{ name: 'total', type: 'shop.Money' }],
    })
    const s = compileSchema('avro', withRef, [{ name: 'shop.Money', source: money }])
    expect(s.check(Buffer.from([0x04]))).toBeUndefined()
  })
  it('refuses a schema avsc cannot use', () => {
    expect(() => compileSchema('avro', '{"type":"record","name":"X"}')).toThrow(SchemaCompileError)
  })
})

describe('json-schema', () => {
  const source = JSON.stringify({
    title: 'shop.Order',
    type: 'object',
    properties: { amount: { type: 'number', minimum: 0 }, email: { type: 'string', format: 'email' } },
    required: ['amount'],
    additionalProperties: false,
  })
  const schema = compileSchema('json-schema', source)
  it('passes a valid document; reports the first failure with its path', () => {
    expect(schema.check(Buffer.from('{"amount": 3, "email": "a@b.example"}'))).toBeUndefined()
    expect(schema.check(Buffer.from('{"amount": -1}'))).toBe('/amount must be >= 0')
    expect(schema.check(Buffer.from('{}'))).toBe("/ must have required property 'amount'")
    expect(schema.check(Buffer.from('{"amount":1,"x":2}'))).toBe('/ must NOT have additional properties (x)')
    expect(schema.check(Buffer.from('{"amount":1,"email":"nope"}'))).toBe('/email must match format "email"')
    expect(schema.check(Buffer.from('{"amount":'))).toMatch(/^not JSON: /)
    expect(schema.recordName()).toBe('shop.Order')
  })
  it('follows $schema to the 2020-12 dialect, and resolves references by name', () => {
    const s2020 = compileSchema(
      'json-schema',
      JSON.stringify({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'array',
        prefixItems: [{ type: 'integer' }],
      }),
    )
    expect(s2020.check(Buffer.from('[1]'))).toBeUndefined()
    expect(s2020.check(Buffer.from('["a"]'))).toBe('/0 must be integer')
    const withRef = compileSchema('json-schema', JSON.stringify({ $ref: 'money.json' }), [
      { name: 'money.json', source: JSON.stringify({ type: 'integer', minimum: 0 }) },
    ])
    expect(withRef.check(Buffer.from('-5'))).toBe('/ must be >= 0')
  })
})

describe('protobuf', () => {
  const proto = `syntax = "proto3";
package shop;
import "google/protobuf/timestamp.proto";
message Order { string id = 1; int32 amount = 2; google.protobuf.Timestamp at = 3;
  message Line { string sku = 1; int32 qty = 2; } }
message Refund { string order_id = 1; }
`
  const root = protobuf.parse(proto, { keepCase: true }).root
  root.addJSON(protobuf.common.get('google/protobuf/timestamp.proto')!.nested!)
  const Order = root.lookupType('shop.Order')
  const Line = root.lookupType('shop.Order.Line')
  const Refund = root.lookupType('shop.Refund')
  const schema = compileSchema('protobuf', proto)

  it('picks the message by its indexes: [0] the first, [1] the second, [0, 0] a nested one', () => {
    expect(schema.recordName([0])).toBe('shop.Order')
    expect(schema.recordName([1])).toBe('shop.Refund')
    expect(schema.recordName([0, 0])).toBe('shop.Order.Line')
    expect(
      schema.check(Buffer.from(Order.encode({ id: 'o', amount: 2, at: { seconds: 5 } }).finish()), [0]),
    ).toBeUndefined()
    expect(schema.check(Buffer.from(Line.encode({ sku: 's', qty: 1 }).finish()), [0, 0])).toBeUndefined()
    expect(schema.check(Buffer.from(Refund.encode({ order_id: 'o' }).finish()), [1])).toBeUndefined()
  })
  it('refuses a malformed encoding and an index the schema does not have', () => {
    expect(schema.check(Buffer.from([0x0a, 0x05, 0x61]), [0])).toMatch(/not a valid Protobuf shop.Order/)
    expect(schema.check(Buffer.from([]), [5])).toBe('names message [5], which the schema does not have')
  })
  it('a local file names its message, or its first message is used', () => {
    const named = compileSchema('protobuf', proto, [], 'Refund')
    expect(named.recordName()).toBe('shop.Refund')
    expect(compileSchema('protobuf', proto).recordName()).toBe('shop.Order')
  })
  it('proto2 required fields must be present', () => {
    const p2 = compileSchema('protobuf', 'syntax = "proto2"; message M { required int32 a = 1; }')
    expect(p2.check(Buffer.from([0x08, 0x01]))).toBeUndefined()
    expect(p2.check(Buffer.from([]))).toMatch(/missing required 'a'/)
  })
  it('resolves imports from references', () => {
    const dep = 'syntax = "proto3"; package common; message Money { int64 cents = 1; }'
    const main = 'syntax = "proto3"; package shop; import "money.proto"; message Pay { common.Money total = 1; }'
    const s = compileSchema('protobuf', main, [{ name: 'money.proto', source: dep }])
    expect(s.recordName([0])).toBe('shop.Pay')
    expect(s.check(Buffer.from([0x0a, 0x02, 0x08, 0x05]), [0])).toBeUndefined()
  })
})

describe('protobuf as a serialized FileDescriptorProto (what Confluent serializers register)', () => {
  // confluent-kafka-python's ProtobufSerializer registered this for package shop { Shipment, Return }.
  const b64 =
    'Cg9zaGlwbWVudHMucHJvdG8SBHNob3AiJgoIU2hpcG1lbnQSCgoCaWQYASABKAkSDgoGd2VpZ2h0GAIgASgFIicKBlJldHVybhIOCgZyZWFzb24YASABKAkSDQoFaXRlbXMYAiABKAViBnByb3RvMw=='
  it('reads the messages in order and checks records against them', () => {
    const s = compileSchema('protobuf', b64)
    expect(s.recordName([0])).toBe('shop.Shipment')
    expect(s.recordName([1])).toBe('shop.Return')
    expect(s.check(Buffer.from('0a08726561736f6e2d301001', 'hex'), [1])).toBeUndefined()
    expect(s.check(Buffer.from('0a08726561736f6e', 'hex'), [1])).toMatch(/not a valid Protobuf shop.Return/)
  })
})
