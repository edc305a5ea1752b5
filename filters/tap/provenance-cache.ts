import type { Capture } from './capture.js'
import { captureHeaders } from './decorate.js'
import { type CopyHeaders, copyHeaders } from './tap-batch.js'

/**
 * The tap headers of captures, encoded (copyHeaders), kept by what they are made of: a client produces to the same
 * few partitions again and again, so the same headers would otherwise be built (strings to UTF-8, a Buffer per
 * header) for every captured partition of every request. Bounded: emptied when it holds `max` entries (clients
 * with ever new ids cost a rebuild, never memory).
 */
export class ProvenanceCache {
  private readonly entries = new Map<string, CopyHeaders>()

  constructor(private readonly max = 4096) {}

  headersFor(capture: Capture, tapName: string, instance: string): CopyHeaders {
    // Every input of captureHeaders, separated by a character none of them can hold unescaped in JSON form.
    const key = JSON.stringify([
      tapName,
      instance,
      capture.direction,
      capture.topic,
      capture.partition,
      capture.clientId,
      capture.principal,
      capture.errorCode,
    ])
    let h = this.entries.get(key)
    if (h === undefined) {
      h = copyHeaders(captureHeaders(capture, tapName, instance))
      if (this.entries.size >= this.max) this.entries.clear()
      this.entries.set(key, h)
    }
    return h
  }
}
