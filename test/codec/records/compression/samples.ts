import { randomBytes } from 'node:crypto'

/** Inputs that exercise different paths of a compressor: empty, tiny, incompressible, repetitive, text-like, large. */
export function compressionSamples(): [string, Buffer][] {
  const text = Buffer.from(
    Array.from(
      { length: 4000 },
      (_, i) => `{"id":${i},"name":"user-${i % 97}","tags":["a","b","c"],"ok":${i % 3 === 0}}\n`,
    ).join(''),
  )
  return [
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from([42])],
    ['short text', Buffer.from('hello hello hello hello')],
    ['random 1 KiB', randomBytes(1024)],
    ['random 200 KiB', randomBytes(200 * 1024)],
    ['zeros 1 MiB', Buffer.alloc(1024 * 1024)],
    ['json lines', text],
    ['pattern of period 3', Buffer.from('abc'.repeat(50_000))],
    ['mixed', Buffer.concat([randomBytes(70_000), Buffer.alloc(70_000, 7), randomBytes(10), text])],
  ]
}
