import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { drainTail } from './output-tail.js'

describe('drainTail', () => {
  // The broker-failure test's console producer hung this way: its client warned about the dead broker on stderr,
  // nobody read the pipe, and the JVM blocked in its logger once 64 KiB were waiting.
  it('lets a child that writes far more than a pipe holds run to its end, nobody else reading', async () => {
    const script =
      "for (let i = 0; i < 20000; i++) process.stderr.write('warning ' + String(i).padStart(5, '0') + '\\n')"
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    const stderr = drainTail(child.stderr, 1024)
    const stdout = drainTail(child.stdout)
    const [code] = (await once(child, 'close')) as [number | null]
    expect(code).toBe(0)
    expect(stderr.bytes).toBe(20000 * 'warning 00000\n'.length)
    expect(stderr.text().length).toBe(1024)
    expect(stderr.text().endsWith('warning 19999\n')).toBe(true)
    expect(stdout.bytes).toBe(0)
    expect(stdout.text()).toBe('')
  })

  it('keeps everything when less than its limit was written, beside the caller’s own listener', async () => {
    const child = spawn(process.execPath, ['-e', "process.stdout.write('one\\ntwo\\n')"], {
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    const tail = drainTail(child.stdout)
    const seen: Buffer[] = []
    child.stdout.on('data', (d: Buffer) => seen.push(d))
    await once(child, 'close')
    expect(tail.text()).toBe('one\ntwo\n')
    expect(Buffer.concat(seen).toString()).toBe('one\ntwo\n')
  })
})
