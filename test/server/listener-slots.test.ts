import { EventEmitter } from 'node:events'
import type net from 'node:net'
import { describe, expect, it } from 'vitest'
import { ListenerSlots } from '../../src/server/listener-slots.js'

/** Enough of a socket for the slots: bytesRead and a 'close' event. */
function socket(bytesRead = 0): net.Socket & EventEmitter {
  return Object.assign(new EventEmitter(), { bytesRead }) as unknown as net.Socket & EventEmitter
}

describe('ListenerSlots', () => {
  it('admits while a listener has room, and any number with no limit', () => {
    const slots = new ListenerSlots(() => 0, 1000)
    for (let i = 0; i < 3; i++) {
      expect(slots.decide('bootstrap', 3)).toEqual({ kind: 'admit' })
      slots.add('bootstrap', socket())
    }
    expect(slots.decide('bootstrap', 0)).toEqual({ kind: 'admit' })
    expect(slots.decide('broker 1', 3)).toEqual({ kind: 'admit' })
    expect(slots.counts()).toEqual(new Map([['bootstrap', 3]]))
  })

  it('when full, names the oldest connection silent for the grace period; none younger, none that spoke', () => {
    const clock = { now: 0 }
    const slots = new ListenerSlots(() => clock.now, 1000)
    const spoke = socket(18)
    const silentOld = socket()
    slots.add('bootstrap', spoke)
    clock.now = 100
    slots.add('bootstrap', silentOld)
    clock.now = 900
    const silentYoung = socket()
    slots.add('bootstrap', silentYoung)
    // Nobody has been silent for 1000 ms yet.
    expect(slots.decide('bootstrap', 3)).toEqual({ kind: 'full' })
    clock.now = 1100
    expect(slots.decide('bootstrap', 3)).toEqual({ kind: 'evict', socket: silentOld, silentMs: 1000 })
    slots.remove('bootstrap', silentOld)
    expect(slots.decide('bootstrap', 3)).toEqual({ kind: 'admit' })
    slots.add('bootstrap', socket())
    clock.now = 1950
    expect(slots.decide('bootstrap', 3)).toEqual({ kind: 'evict', socket: silentYoung, silentMs: 1050 })
  })

  // The hostile-tls bench's idle pattern with listen.tls.thread: worker found relayed connections never evicted: the
  // relay header they had read counted as the client speaking, and new clients were refused (memory_budget) instead.
  it("a relayed connection that has read only its relay header is silent; one byte of the client's is not", () => {
    const clock = { now: 0 }
    const slots = new ListenerSlots(() => clock.now, 1000)
    const headerOnly = socket(120)
    const spoke = socket(121)
    slots.add('broker 1', spoke, 120)
    slots.add('broker 1', headerOnly, 120)
    clock.now = 1000
    expect(slots.decide('broker 1', 2)).toEqual({ kind: 'evict', socket: headerOnly, silentMs: 1000 })
    expect(slots.oldestSilent()).toEqual({ listener: 'broker 1', socket: headerOnly, silentMs: 1000 })
  })

  it('frees a slot when its socket closes', () => {
    const slots = new ListenerSlots(() => 0, 1000)
    const s = socket()
    slots.add('bootstrap', s)
    slots.add('bootstrap', socket())
    expect(slots.decide('bootstrap', 2)).toEqual({ kind: 'full' })
    s.emit('close')
    expect(slots.counts().get('bootstrap')).toBe(1)
    expect(slots.decide('bootstrap', 2)).toEqual({ kind: 'admit' })
  })
})
