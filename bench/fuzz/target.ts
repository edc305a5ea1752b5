import type fc from 'fast-check'
import { CodecError } from '../../codec/errors.js'

/**
 * One fuzz target: a codec entry point, the inputs that reach it (structure-aware, as a fast-check arbitrary) and
 * the invariants checked on each. `run` throws a FuzzFinding, or lets any non-codec error through, when an
 * invariant breaks; it returns normally otherwise, whether the codec accepted the input or refused it with one of
 * its typed errors.
 */
export interface FuzzTarget<T = unknown> {
  readonly name: string
  /** One line: what is fuzzed and what is checked. */
  readonly description: string
  /** Structure-aware cases: valid messages or batches, the mutations to apply to them, the cut points. */
  readonly arbitrary: fc.Arbitrary<T>
  /** Builds what the cases share (outside any case's memory limits); called once before the first case. */
  prepare?(): Promise<void>
  /** Runs one case. */
  run(input: T): void
  /**
   * The same entry points fed raw bytes, for a coverage-guided fuzzer (jazzer.js) that mutates bytes itself: the
   * bytes are read as the target's input with no structure imposed beyond what the first few bytes select.
   */
  runBytes(data: Buffer): void
  /**
   * Memory one case may take, in bytes: its largest single allocation, and its heap plus external growth (see
   * memory-guard.ts). The arbitrary bounds the inputs' size, so the bounds are per target.
   */
  readonly limits: { allocation: number; growth: number }
}

/** An invariant a case broke (not an exception from the codec: a wrong answer, a disagreement, a leak). */
export class FuzzFinding extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'FuzzFinding'
  }
}

/**
 * Runs `fn` and returns what the codec did: its value, or the CodecError it threw. Any other exception is a codec
 * bug (a RangeError from a Buffer read past the end, a TypeError from a missing value) and is rethrown as-is.
 */
export function codecOutcome<T>(fn: () => T): { ok: true; value: T } | { ok: false; error: CodecError } {
  try {
    return { ok: true, value: fn() }
  } catch (err) {
    if (err instanceof CodecError) return { ok: false, error: err }
    throw err
  }
}

/** Like codecOutcome, for calls whose value does not matter. */
export function onlyCodecErrors(fn: () => unknown): void {
  codecOutcome(fn)
}

export function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new FuzzFinding(message())
}

/** A short hex view of bytes for finding messages (reproducers carry the whole input). */
export function hex(bytes: Uint8Array, max = 96): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, max))
  return `${b.toString('hex')}${bytes.length > max ? `... (${bytes.length} bytes)` : ''}`
}
