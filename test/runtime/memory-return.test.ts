import { describe, expect, it } from 'vitest'
import { exposeGc, MemoryReturn } from '../../src/runtime/memory-return.js'

const MiB = 1024 * 1024

/** A MemoryReturn on a fake clock and a fake external-memory count; `live` is what a collection cannot free. */
function fake(options: { threshold?: number; interval?: number; maxInterval?: number } = {}) {
  const state = { external: 0, live: 0, now: 0, collections: 0 }
  const mr = new MemoryReturn({
    thresholdBytes: options.threshold ?? 64 * MiB,
    intervalMs: options.interval ?? 5_000,
    maxIntervalMs: options.maxInterval ?? 15_000,
    externalBytes: () => state.external,
    collect: () => {
      state.collections++
      state.external = state.live
    },
    now: () => state.now,
  })
  /** Advances the clock by one interval (plus a timer's lateness) and runs the check the timer would run. */
  const tick = (late = 3) => {
    state.now += (options.interval ?? 5_000) + late
    return mr.check()
  }
  return { state, mr, tick }
}

describe('MemoryReturn', () => {
  it('does nothing while external memory is under the threshold', () => {
    const { state, tick } = fake()
    state.external = 63 * MiB
    for (let i = 0; i < 10; i++) expect(tick()).toBe(false)
    expect(state.collections).toBe(0)
  })

  it('collects once external memory is over the threshold, and counts what it freed', () => {
    const { state, mr, tick } = fake()
    state.external = 900 * MiB
    expect(tick()).toBe(true)
    expect(state.external).toBe(0)
    expect(mr.stats).toEqual({ collections: 1, freedBytes: 900 * MiB })
    expect(tick()).toBe(false)
  })

  it('backs off while the memory is alive, then collects it soon after it dies', () => {
    const { state, tick } = fake()
    // A burst in flight: 900 MiB alive. Collections free nothing, so they come every 10 s, then every 15 s.
    state.external = 900 * MiB
    state.live = 900 * MiB
    const ran = Array.from({ length: 12 }, () => tick())
    expect(ran).toEqual([true, false, true, false, false, true, false, false, true, false, false, true])
    // The clients go away: the memory is dead, and the next collection allowed by the back-off frees it.
    state.live = 0
    expect(tick()).toBe(false)
    expect(tick()).toBe(false)
    expect(tick()).toBe(true)
    expect(state.external).toBe(0)
  })

  it('starts over at the short interval once a collection frees a lot', () => {
    const { state, tick } = fake()
    state.external = 900 * MiB
    state.live = 900 * MiB
    tick() // freed nothing: wait 10 s
    tick()
    state.live = 0
    expect(tick()).toBe(true) // 10 s later: frees all
    state.external = 500 * MiB
    expect(tick()).toBe(true) // the next interval again
  })

  it('takes V8 full collection when node has no --expose-gc, and it collects dead Buffers', async () => {
    const gc = exposeGc()
    expect(typeof gc).toBe('function')
    const ref = deadBuffer()
    // A WeakRef keeps its target until the current job ends (ECMA-262 KeepDuringJob): collect after it.
    await new Promise((resolve) => setImmediate(resolve))
    gc!()
    expect(ref.deref()).toBeUndefined()
    // The flag is switched off again: nothing else got a global `gc`.
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined()
  })
})

function deadBuffer(): WeakRef<Buffer> {
  return new WeakRef(Buffer.alloc(4 * MiB, 1))
}
