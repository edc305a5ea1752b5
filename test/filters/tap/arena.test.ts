import { describe, expect, it } from 'vitest'
import { Arena } from '../../../filters/tap/arena.js'

describe('tap arena', () => {
  it('places copies one after another in a chunk; they stay intact while the source changes', () => {
    const arena = new Arena(1024, 2)
    const source = Buffer.from('abcdefgh')
    const a = arena.copy(source)
    source.fill(0)
    const b = arena.copy(Buffer.from('12345678'))
    expect(a.buf.toString()).toBe('abcdefgh')
    expect(b.buf.toString()).toBe('12345678')
    expect(a.chunk).toBe(b.chunk)
    expect(a.buf.buffer).toBe(b.buf.buffer)
  })

  it('a chunk is reused once every copy in it is released, and never while one lives', () => {
    const arena = new Arena(64, 4)
    const first = Array.from({ length: 4 }, (_, i) => arena.copy(Buffer.alloc(16, i + 1))) // fills a chunk
    const next = arena.copy(Buffer.alloc(16, 9)) // a second chunk
    expect(next.chunk).not.toBe(first[0]!.chunk)
    for (const s of first.slice(0, 3)) arena.release(s.chunk)
    expect(arena.freeChunks).toBe(0) // one copy still lives in it
    expect(first[3]!.buf).toEqual(Buffer.alloc(16, 4))
    arena.release(first[3]!.chunk)
    expect(arena.freeChunks).toBe(1)
    const more = Array.from({ length: 4 }, () => arena.copy(Buffer.alloc(16, 7))) // fills the second chunk, then reuses
    expect(more[3]!.chunk).toBe(first[0]!.chunk)
    expect(next.buf).toEqual(Buffer.alloc(16, 9))
  })

  it('large copies get a Buffer of their own, never pooled', () => {
    const arena = new Arena(64, 4)
    const big = arena.copy(Buffer.alloc(40, 1))
    expect(big.buf.length).toBe(40)
    arena.release(big.chunk)
    expect(arena.freeChunks).toBe(0)
  })
})
