/**
 * Kafka's default partition for a keyed record: toPositive(murmur2(key)) % numPartitions over ALL partitions of the
 * topic, available or not (BuiltInPartitioner.partitionForKey, clients/.../producer/internals/BuiltInPartitioner.java),
 * so that the sidecar puts a key where the Java producer would.
 *
 * murmur2 as Kafka's Utils.murmur2 (clients/src/main/java/org/apache/kafka/common/utils/Utils.java), which is
 * MurmurHash2 (Austin Appleby) with seed 0x9747b28c, read in little-endian 4-byte words; written here from that
 * description, with Java's int arithmetic (Math.imul for the 32-bit multiplies, >>> for its unsigned shifts).
 * Kafka's UtilsTest.testMurmur2 holds the reference values this is tested against.
 */
const SEED = 0x9747b28c
const M = 0x5bd1e995
const R = 24

/**
 * Kafka's Utils.murmur2: a signed 32-bit hash, equal to what the Java client computes for the same bytes; of
 * `data[start, start + length)` when given (a key read in place, without a view of it).
 */
export function murmur2(data: Uint8Array, start = 0, length = data.length - start): number {
  let h = SEED ^ length
  const words = length >>> 2
  for (let i = 0; i < words; i++) {
    const o = start + (i << 2)
    let k = data[o]! | (data[o + 1]! << 8) | (data[o + 2]! << 16) | (data[o + 3]! << 24)
    k = Math.imul(k, M)
    k ^= k >>> R
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }
  // The last 1-3 bytes fold in from the highest down (Java: a switch on length % 4 that falls through).
  const tail = start + (length & ~3)
  const rest = length & 3
  if (rest === 3) h ^= data[tail + 2]! << 16
  if (rest >= 2) h ^= data[tail + 1]! << 8
  if (rest >= 1) {
    h ^= data[tail]!
    h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

/** Kafka's Utils.toPositive: clears the sign bit (not Math.abs, which would map two values to one). */
export function toPositive(n: number): number {
  return n & 0x7fffffff
}

/** The partition the Java producer's default partitioner picks for this key (`key[start, start + length)` if given). */
export function partitionForKey(
  key: Uint8Array,
  numPartitions: number,
  start = 0,
  length = key.length - start,
): number {
  return toPositive(murmur2(key, start, length)) % numPartitions
}
