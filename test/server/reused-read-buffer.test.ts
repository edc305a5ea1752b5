import { describe, expect, it } from 'vitest'
import { ReusedReadBuffer } from '../../src/server/reused-read-buffer.js'

/** Drives the onread option as Node does: ask for a buffer, fill it, call back with the byte count. */
function read(reads: ReusedReadBuffer, data: string): Buffer {
  const buffer = (reads.onread.buffer as () => Buffer)()
  const n = buffer.write(data)
  reads.onread.callback(n, buffer)
  return buffer
}

describe('ReusedReadBuffer', () => {
  it('reads into the same memory until a sink keeps a chunk, then into new memory', () => {
    const reads = new ReusedReadBuffer(64)
    const seen: string[] = []
    let keep = false
    reads.attach((chunk) => {
      seen.push(chunk.toString())
      return keep
    })
    const first = read(reads, 'one')
    const second = read(reads, 'two')
    expect(second).toBe(first)
    keep = true
    const third = read(reads, 'three')
    expect(third).toBe(first)
    keep = false
    const fourth = read(reads, 'four')
    expect(fourth).not.toBe(first)
    // The kept chunk's memory was not written again.
    expect(third.subarray(0, 5).toString()).toBe('three')
    expect(seen).toEqual(['one', 'two', 'three', 'four'])
    expect(reads.lent).toBe(1)
  })

  it('hands reads that came before a sink to it as copies, in order', () => {
    const reads = new ReusedReadBuffer(64)
    read(reads, 'early')
    read(reads, 'later')
    const seen: string[] = []
    reads.attach((chunk) => {
      seen.push(chunk.toString())
      return false
    })
    read(reads, 'now')
    expect(seen).toEqual(['early', 'later', 'now'])
  })
})
