import { describe, expect, it } from 'vitest'
import { parseQuantity } from '../../src/inject/quantity.js'

describe('parseQuantity', () => {
  it('reads the forms resources are written in', () => {
    expect(parseQuantity('100m')).toBeCloseTo(0.1)
    expect(parseQuantity('1')).toBe(1)
    expect(parseQuantity('0.5')).toBe(0.5)
    expect(parseQuantity('.5')).toBe(0.5)
    expect(parseQuantity('128Mi')).toBe(128 * 2 ** 20)
    expect(parseQuantity('1Gi')).toBe(2 ** 30)
    expect(parseQuantity('1G')).toBe(1e9)
    expect(parseQuantity('2e3')).toBe(2000)
    expect(parseQuantity('1E')).toBe(1e18)
  })

  it('refuses what is not a quantity (or is negative)', () => {
    for (const bad of ['', 'lots', '128MB', '1 Gi', '-1', '1.2.3', 'Mi', '1mi']) {
      expect(parseQuantity(bad), bad).toBeUndefined()
    }
  })
})
