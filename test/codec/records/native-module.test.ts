import { describe, expect, it } from 'vitest'
import { loadNative } from '../../../codec/records/native-module.js'

interface Api {
  work(): number
}

describe('loadNative', () => {
  it('gives the package when it loads with every function asked for', () => {
    const api = { work: () => 1 }
    expect(loadNative<Api>('some-native', ['work'], () => api)).toBe(api)
  })

  it('gives undefined when the package throws on load (no binary for this platform)', () => {
    const load = () => {
      throw new Error('Cannot find module @x/some-native-linux-riscv64-gnu')
    }
    expect(loadNative<Api>('some-native', ['work'], load)).toBeUndefined()
  })

  it('gives undefined for a package without the functions (another major version)', () => {
    expect(loadNative<Api>('some-native', ['work'], () => ({ other: () => 1 }))).toBeUndefined()
    expect(loadNative<Api>('some-native', ['work'], () => null)).toBeUndefined()
  })

  // Both ship a binary for linux-x64 (glibc and musl); elsewhere the fallback is the expected outcome.
  it.skipIf(process.platform !== 'linux' || process.arch !== 'x64')('loads the real native packages here', () => {
    expect(loadNative<{ crc32c: unknown }>('@node-rs/crc32', ['crc32c'])).toBeDefined()
    expect(
      loadNative<{ compressSync: unknown; uncompressSync: unknown }>('@napi-rs/snappy', [
        'compressSync',
        'uncompressSync',
      ]),
    ).toBeDefined()
  })
})
