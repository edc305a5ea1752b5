import {
  type ConsumerProtocolAssignment,
  sizeConsumerProtocolAssignment,
  writeConsumerProtocolAssignment,
} from '../../../codec/messages/generated/consumer-protocol-assignment.js'
import {
  type ConsumerProtocolSubscription,
  sizeConsumerProtocolSubscription,
  writeConsumerProtocolSubscription,
} from '../../../codec/messages/generated/consumer-protocol-subscription.js'
import { Writer } from '../../../codec/primitives/writer.js'

/** Consumer protocol bytes as clients write them, for the topic-rewrite tests. */

/** The bytes a consumer puts in JoinGroup: int16 version, then the message (ConsumerProtocol.serializeSubscription). */
export function subscriptionBytes(m: ConsumerProtocolSubscription, version: number, tail = Buffer.alloc(0)): Buffer {
  const w = new Writer(2 + sizeConsumerProtocolSubscription(m, Math.min(version, 3)) + tail.length)
  w.int16(version)
  writeConsumerProtocolSubscription(w, m, Math.min(version, 3))
  tail.copy(w.buf, w.pos)
  w.pos += tail.length
  return w.finish()
}

export function assignmentBytes(m: ConsumerProtocolAssignment, version: number): Buffer {
  const w = new Writer(2 + sizeConsumerProtocolAssignment(m, version))
  w.int16(version)
  writeConsumerProtocolAssignment(w, m, version)
  return w.finish()
}
