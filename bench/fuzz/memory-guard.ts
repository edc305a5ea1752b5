import { getHeapStatistics } from 'node:v8'

/**
 * The fuzz invariant "memory bounded by the input": a case may not make the codec allocate much more than the bytes
 * it was given (or, for decompression, than the cap it was given). Checked two ways, because each misses what the
 * other sees:
 *
 * - an allocation guard: Buffer.alloc / allocUnsafe / allocUnsafeSlow refuse (and remember) any single allocation
 *   above the case's limit. A length read from the input and handed to an allocator is caught at the call, with its
 *   stack, before anything is reserved, and even when the codec swallows the error the guard throws (it wraps
 *   foreign errors into CompressionError in places), the case is still reported;
 * - a heap measurement: V8's used heap plus external memory (ArrayBuffer backing stores, which
 *   `Buffer.allocUnsafe` of 2 GiB grows although it touches no page) before and after the case. It catches what
 *   does not go through Buffer: `new Array(n)`, typed arrays made inside a dependency (fzstd), many small objects.
 *   A garbage collection inside the case can only lower the figure, so it bounds growth from one side; the guard
 *   covers large single allocations on the other.
 */

export class AllocationLimitError extends Error {
  constructor(size: number, limit: number) {
    super(`allocation of ${size} bytes exceeds this case's limit of ${limit} bytes`)
    this.name = 'AllocationLimitError'
  }
}

type Allocator = (size: number, ...rest: never[]) => Buffer

let limit = Number.POSITIVE_INFINITY
let violation: AllocationLimitError | undefined
let installed = false

function guarded(original: Allocator): Allocator {
  return function (this: unknown, size: number, ...rest: never[]): Buffer {
    if (typeof size === 'number' && size > limit) {
      const err = new AllocationLimitError(size, limit)
      violation ??= err
      throw err
    }
    return original.call(this, size, ...rest)
  }
}

/** Patches the Buffer allocators once per process (a fuzz worker or the test file); idempotent. */
export function installAllocationGuard(): void {
  if (installed) return
  installed = true
  const b = Buffer as unknown as Record<'alloc' | 'allocUnsafe' | 'allocUnsafeSlow', Allocator>
  b.alloc = guarded(b.alloc)
  b.allocUnsafe = guarded(b.allocUnsafe)
  b.allocUnsafeSlow = guarded(b.allocUnsafeSlow)
}

/** What one case cost, in bytes: its heap-plus-external growth, and the heap-plus-external total after it. */
export interface CaseMemory {
  growth: number
  total: number
}

/**
 * Runs `fn` with single allocations limited to `allocationLimit` bytes and its memory growth limited to
 * `growthLimit`; throws AllocationLimitError (the first refused allocation, even if `fn` caught it) or a
 * MemoryGrowthError. Returns what the case cost, for the peak figures.
 */
export function withMemoryLimits(allocationLimit: number, growthLimit: number, fn: () => void): CaseMemory {
  const before = getHeapStatistics()
  limit = allocationLimit
  violation = undefined
  try {
    fn()
  } finally {
    limit = Number.POSITIVE_INFINITY
  }
  if (violation !== undefined) {
    const err = violation
    violation = undefined
    throw err
  }
  const after = getHeapStatistics()
  const total = after.used_heap_size + after.external_memory
  const growth = total - (before.used_heap_size + before.external_memory)
  if (growth > growthLimit) throw new MemoryGrowthError(growth, growthLimit)
  return { growth, total }
}

export class MemoryGrowthError extends Error {
  constructor(growth: number, limit: number) {
    super(`the case grew heap and external memory by ${growth} bytes, more than its limit of ${limit} bytes`)
    this.name = 'MemoryGrowthError'
  }
}
