import type { Capture } from './capture.js'
import type { Direction } from './config.js'
import { captureHeaders } from './decorate.js'
import { type CopyHeaders, copyHeaders } from './tap-batch.js'

/**
 * The tap headers of captures, encoded (copyHeaders), kept by what they are made of: a client produces to the same
 * few partitions again and again, so the same headers would otherwise be built (strings to UTF-8, a Buffer per
 * header) for every captured partition of every request. Bounded: emptied when it holds `max` entries (clients
 * with ever new ids cost a rebuild, never memory).
 *
 * Looked up by topic, then partition, then a short list compared field by field: a lookup that finds its entry
 * allocates nothing, where a key string made of every input per captured partition (JSON.stringify of an array)
 * showed as about 2% of the tap's CPU time and a good part of its garbage in profiles of bench/tap-cost.ts.
 */
interface Entry {
  readonly tapName: string
  readonly instance: string
  readonly direction: Direction
  readonly clientId: string | null
  readonly principal: string | undefined
  readonly errorCode: number
  readonly headers: CopyHeaders
}

export class ProvenanceCache {
  private readonly byTopic = new Map<string | undefined, Map<number, Entry[]>>()
  private entries = 0

  constructor(private readonly max = 4096) {}

  /** Entries held (for tests). */
  get size(): number {
    return this.entries
  }

  headersFor(capture: Capture, tapName: string, instance: string): CopyHeaders {
    let partitions = this.byTopic.get(capture.topic)
    if (partitions === undefined) {
      partitions = new Map()
      this.byTopic.set(capture.topic, partitions)
    }
    let list = partitions.get(capture.partition)
    if (list === undefined) {
      list = []
      partitions.set(capture.partition, list)
    }
    for (const e of list) {
      if (
        e.tapName === tapName &&
        e.instance === instance &&
        e.direction === capture.direction &&
        e.clientId === capture.clientId &&
        e.principal === capture.principal &&
        e.errorCode === capture.errorCode
      )
        return e.headers
    }
    if (this.entries >= this.max) {
      this.byTopic.clear()
      this.entries = 0
      return this.headersFor(capture, tapName, instance) // into the emptied cache
    }
    const headers = copyHeaders(captureHeaders(capture, tapName, instance))
    list.push({
      tapName,
      instance,
      direction: capture.direction,
      clientId: capture.clientId,
      principal: capture.principal,
      errorCode: capture.errorCode,
      headers,
    })
    this.entries++
    return headers
  }
}
