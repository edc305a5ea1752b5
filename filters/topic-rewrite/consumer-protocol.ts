import {
  type ConsumerProtocolAssignment,
  readConsumerProtocolAssignment,
  sizeConsumerProtocolAssignment,
  writeConsumerProtocolAssignment,
} from '../../codec/messages/generated/consumer-protocol-assignment.js'
import {
  type ConsumerProtocolSubscription,
  readConsumerProtocolSubscription,
  sizeConsumerProtocolSubscription,
  writeConsumerProtocolSubscription,
} from '../../codec/messages/generated/consumer-protocol-subscription.js'
import { Reader } from '../../codec/primitives/reader.js'
import { Writer } from '../../codec/primitives/writer.js'

/**
 * The classic consumer protocol's bytes inside JoinGroup (member metadata: a subscription) and SyncGroup (an
 * assignment), and DescribeGroups' copies of both, when the group's protocol type is "consumer". The layouts are
 * Kafka's ConsumerProtocolSubscription.json and ConsumerProtocolAssignment.json (versions 0-3, in the kafka-clients
 * jar next to the API specs), which the codec generator already turns into codec/messages/generated/
 * consumer-protocol-*.ts; the bytes are an int16 version followed by that message (ConsumerProtocol.java
 * serializeSubscription/serializeAssignment).
 *
 * Topic names travel in Subscription.Topics (a []string without entityType in the spec, so the schema search cannot
 * find it), Subscription.OwnedPartitions[].Topic and Assignment.AssignedPartitions[].Topic. UserData is the
 * assignor's own: Java's StickyAssignor keeps the previous assignment there by topic name, which is left as it is
 * (the assignor then loses stickiness for renamed topics, nothing worse).
 */

/** Kafka's protocol type for consumer groups (ConsumerProtocol.PROTOCOL_TYPE). */
export const CONSUMER_PROTOCOL_TYPE = 'consumer'

/** The newest version of both messages the codec knows. */
const HIGHEST_VERSION = 3

/** Maps a topic name; the consumer protocol has no way to leave a topic out, so a name maps to a name. */
export type TopicMap = (name: string) => string

interface Decoded<T> {
  readonly version: number
  readonly message: T
  /** Bytes after the part this codec knows (fields of a newer version), kept as they are. */
  readonly tail: Buffer
}

/**
 * A version above the highest known is read as the highest, its extra bytes kept: Kafka's ConsumerProtocol does the
 * same (checkSubscriptionVersion/checkAssignmentVersion read newer versions with the newest schema it has, and new
 * versions only add fields at the end).
 */
function decode<T>(bytes: Buffer, read: (r: Reader, v: number) => T): Decoded<T> | undefined {
  if (bytes.length < 2) return undefined
  const version = bytes.readInt16BE(0)
  if (version < 0) return undefined
  const r = new Reader(bytes, 2)
  const message = read(r, Math.min(version, HIGHEST_VERSION))
  return { version, message, tail: bytes.subarray(r.pos) }
}

function encode<T>(
  d: Decoded<T>,
  size: (m: T, v: number) => number,
  write: (w: Writer, m: T, v: number) => void,
): Buffer {
  const v = Math.min(d.version, HIGHEST_VERSION)
  const w = new Writer(2 + size(d.message, v) + d.tail.length)
  w.int16(d.version)
  write(w, d.message, v)
  d.tail.copy(w.buf, w.pos)
  w.pos += d.tail.length
  return w.finish()
}

/**
 * The subscription with every topic name mapped; undefined when nothing changed (the bytes can stay) or the bytes are
 * empty. Throws a CodecError when the bytes are not a consumer subscription.
 */
export function mapSubscription(bytes: Buffer, map: TopicMap): Buffer | undefined {
  const d = decode<ConsumerProtocolSubscription>(bytes, readConsumerProtocolSubscription)
  if (d === undefined) return undefined
  let changed = false
  const m = d.message
  const topics = m.topics.map((t) => {
    const out = map(t)
    if (out !== t) changed = true
    return out
  })
  m.topics = topics
  for (const owned of m.ownedPartitions ?? []) {
    const out = map(owned.topic)
    if (out !== owned.topic) {
      owned.topic = out
      changed = true
    }
  }
  return changed ? encode(d, sizeConsumerProtocolSubscription, writeConsumerProtocolSubscription) : undefined
}

/** The assignment with every topic name mapped; undefined when nothing changed or the bytes are empty. */
export function mapAssignment(bytes: Buffer, map: TopicMap): Buffer | undefined {
  const d = decode<ConsumerProtocolAssignment>(bytes, readConsumerProtocolAssignment)
  if (d === undefined) return undefined
  let changed = false
  for (const a of d.message.assignedPartitions) {
    const out = map(a.topic)
    if (out !== a.topic) {
      a.topic = out
      changed = true
    }
  }
  return changed ? encode(d, sizeConsumerProtocolAssignment, writeConsumerProtocolAssignment) : undefined
}

/** The topic names of a subscription (for tests and logs). */
export function subscriptionTopics(bytes: Buffer): { topics: string[]; owned: string[] } | undefined {
  const d = decode<ConsumerProtocolSubscription>(bytes, readConsumerProtocolSubscription)
  if (d === undefined) return undefined
  return { topics: d.message.topics, owned: (d.message.ownedPartitions ?? []).map((o) => o.topic) }
}

/** The topics and partitions of an assignment (for tests and logs). */
export function assignmentTopics(bytes: Buffer): { topic: string; partitions: number[] }[] | undefined {
  const d = decode<ConsumerProtocolAssignment>(bytes, readConsumerProtocolAssignment)
  return d?.message.assignedPartitions.map((a) => ({ topic: a.topic, partitions: a.partitions }))
}
