import { InvalidRecordBatchError } from '../errors.js'
import type { Record } from './record.js'

/**
 * Control records, the single record of a control batch (attribute bit 5). Their key is
 * version int16 + type int16 (clients/src/main/java/org/apache/kafka/common/record/ControlRecordType.java);
 * a key version above 0 is read as version 0, as Java does. Transaction markers (ABORT, COMMIT) carry an
 * EndTxnMarker value: version int16 + coordinatorEpoch int32 (common/message/EndTxnMarker.json, read by
 * EndTransactionMarker.deserializeValue). The other types belong to KRaft's metadata log and are not decoded.
 */
export const ControlRecordType = {
  Abort: 0,
  Commit: 1,
  LeaderChange: 2,
  SnapshotHeader: 3,
  SnapshotFooter: 4,
  KRaftVersion: 5,
  KRaftVoters: 6,
} as const
export type ControlRecordType = (typeof ControlRecordType)[keyof typeof ControlRecordType]

export interface ControlRecord {
  keyVersion: number
  /** The type id as stored; ids this codec does not know are kept as numbers. */
  type: number
  /** For ABORT and COMMIT markers: the transaction coordinator's epoch. */
  coordinatorEpoch?: number
}

const KEY_SIZE = 4
const END_TXN_MARKER_VALUE_SIZE = 6

export function decodeControlRecord(record: Pick<Record, 'key' | 'value'>): ControlRecord {
  const key = record.key
  if (key === null || key.length < KEY_SIZE)
    throw new InvalidRecordBatchError(`control record key of ${key?.length ?? 'null'} byte(s) is shorter than 4`)
  const keyVersion = key.readInt16BE(0)
  if (keyVersion < 0) throw new InvalidRecordBatchError(`control record key version ${keyVersion} is negative`)
  const type = key.readInt16BE(2)
  if (type !== ControlRecordType.Abort && type !== ControlRecordType.Commit) return { keyVersion, type }
  const value = record.value
  if (value === null || value.length < END_TXN_MARKER_VALUE_SIZE)
    throw new InvalidRecordBatchError(
      `transaction marker value of ${value?.length ?? 'null'} byte(s) is shorter than 6`,
    )
  const valueVersion = value.readInt16BE(0)
  if (valueVersion < 0) throw new InvalidRecordBatchError(`transaction marker version ${valueVersion} is negative`)
  return { keyVersion, type, coordinatorEpoch: value.readInt32BE(2) }
}

/** Key and value of a transaction marker record (version 0 of both). */
export function encodeEndTxnMarker(commit: boolean, coordinatorEpoch: number): { key: Buffer; value: Buffer } {
  const key = Buffer.alloc(KEY_SIZE)
  key.writeInt16BE(commit ? ControlRecordType.Commit : ControlRecordType.Abort, 2)
  const value = Buffer.alloc(END_TXN_MARKER_VALUE_SIZE)
  value.writeInt32BE(coordinatorEpoch, 2)
  return { key, value }
}
