import type { FuzzTarget } from '../target.js'
import { frameDecoderTarget } from './frame-decoder.js'
import { headerTarget } from './header.js'
import { messagesTarget, recordsMessagesTarget } from './messages.js'
import { recordBatchesTarget } from './record-batches.js'

/** Every fuzz target, in the order a run takes them. */
export const FUZZ_TARGETS: readonly FuzzTarget<never>[] = [
  frameDecoderTarget,
  headerTarget,
  messagesTarget,
  recordsMessagesTarget,
  recordBatchesTarget,
] as unknown as readonly FuzzTarget<never>[]

export function fuzzTarget(name: string): FuzzTarget<unknown> {
  const target = FUZZ_TARGETS.find((t) => t.name === name)
  if (target === undefined)
    throw new Error(`no fuzz target ${name}; targets: ${FUZZ_TARGETS.map((t) => t.name).join(', ')}`)
  return target as unknown as FuzzTarget<unknown>
}
