import { describe, expect, it } from 'vitest'
import { ConsumedRecords } from './consumed-records.js'

describe('ConsumedRecords', () => {
  it('counts a redelivered offset once and keeps records at distinct offsets apart, same value or not', () => {
    const c = new ConsumedRecords<string>()
    c.add('t', 0, '0', 'a')
    c.add('t', 0, '1', 'b')
    c.add('t', 0, '0', 'a') // the group handed partition 0 out again
    c.add('t', 1, '0', 'a') // another partition: another record
    c.add('u', 0, '1', 'b') // another topic: another record
    expect(c.size).toBe(4)
    expect(c.deliveries).toBe(5)
    expect(c.redelivered).toBe(1)
    expect(c.records()).toEqual(['a', 'b', 'a', 'b'])
  })
})
