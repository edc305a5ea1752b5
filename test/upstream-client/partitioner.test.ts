import { describe, expect, it } from 'vitest'
import { murmur2, partitionForKey, toPositive } from '../../src/upstream-client/partitioner.js'

describe('murmur2', () => {
  // Kafka's UtilsTest.testMurmur2 (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java).
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('hashes %j as Kafka does (%i)', (text, expected) => {
    expect(murmur2(Buffer.from(text))).toBe(expected)
  })

  // Bytes above 0x7f are negative Java bytes, which Kafka masks with 0xff; every tail length (0-3 bytes after the
  // last 4-byte word). Values printed by kafka-clients 4.3.1's Utils.murmur2 for these inputs.
  it.each([
    ['', 275646681],
    ['ff', -311467685],
    ['ffee', 1750061758],
    ['ffeedd', 2053089151],
    ['ffeeddcc', 705638213],
    ['ffeeddccbb', -435349888],
    ['ffeeddccbbaa', -1576922666],
    ['ffeeddccbbaa99', -1046235303],
    ['ffeeddccbbaa9988', -809053009],
    ['ffeeddccbbaa998877', -1660089088],
  ])('hashes bytes %s as the Java client (%i)', (hex, expected) => {
    expect(murmur2(Buffer.from(hex, 'hex'))).toBe(expected)
  })
})

describe('partitionForKey', () => {
  it('is toPositive(murmur2(key)) % partitions', () => {
    expect(toPositive(-790332482)).toBe(1357151166)
    expect(partitionForKey(Buffer.from('foobar'), 10)).toBe(1357151166 % 10)
    expect(partitionForKey(Buffer.from('21'), 3)).toBe(toPositive(-973932308) % 3)
  })
})
