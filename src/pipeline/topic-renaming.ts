import { canStreamTopicRename, renameTopics, type TopicRename } from '../../codec/messages/topic-rename-stream.js'
import type { DecodedRequest, Filter, FilterContext, RequestTopicRename, RequestToRename } from './filter-api.js'
import { Frame } from './frame.js'

/**
 * Whether a message can have its topics renamed where it lies instead of being held, decoded and encoded again for
 * the filters (Filter.renameResponseTopics, Filter.renameRequestTopics): when every filter that may change it offers
 * a rename, and every filter that only observes it sits nearer the client than those. For a response that is after
 * the renames (the observers see it as the client gets it); for a request, before them (they see it as the client
 * sent it): in both directions what they would see on the ordinary way. An observer on the broker's side of a rename
 * would need the message as renamed for a request, and is not worth a second decoding: the ordinary way serves it.
 */

export interface ResponseRename {
  /** The filters' renames, applied in response order. */
  readonly rename: TopicRename
  /** The observers of the response, in response order: they see it renamed, once it went on. */
  readonly observers: readonly Filter[]
}

/** `filters`: the response filters of the response, in response order (broker to client). */
export function responseRename(
  filters: readonly Filter[],
  apiKey: number,
  apiVersion: number,
  request: DecodedRequest | undefined,
  ctxFor: (f: Filter) => FilterContext,
): ResponseRename | undefined {
  if (filters.length === 0 || !canStreamTopicRename(apiKey, apiVersion, 'response')) return undefined
  // Checked before any filter is asked, so that none is asked for a response that takes the ordinary way.
  let renamers = 0
  let observerSeen = false
  for (const f of filters) {
    if (f.observesOnly === true) observerSeen = true
    else if (observerSeen || f.renameResponseTopics === undefined) return undefined
    else renamers++
  }
  if (renamers === 0) return undefined
  const renames: TopicRename[] = []
  const observers: Filter[] = []
  for (const f of filters) {
    if (f.observesOnly === true) {
      observers.push(f)
      continue
    }
    const rename = f.renameResponseTopics!({ apiKey, apiVersion, request }, ctxFor(f))
    if (rename === undefined) return undefined
    renames.push(rename)
  }
  return { rename: renames.length === 1 ? renames[0]! : chained(renames), observers }
}

function chained(renames: readonly TopicRename[]): TopicRename {
  return (name) => {
    let out: string | undefined = name
    for (const r of renames) {
      out = r(out)
      if (out === undefined) return undefined
    }
    return out
  }
}

export interface RequestRename {
  /** The filters' renames, applied in request order. */
  readonly rename: TopicRename
  /** The observers of the request, in request order: they see it as the client sent it, once it went on. */
  readonly observers: readonly Filter[]
  /**
   * Whether the observers get the request with its records as summaries, decoded as it passes (Filter.records). Only
   * the observers and the response filters see the decoded request here (it is renamed where it lies, never encoded
   * again), and a filter that renames it does not read its records (Filter.renameRequestTopics): so it is a matter
   * of the observers and the other response filters, not of every filter of the request, as on the ordinary way.
   * Otherwise each read a request spans would be kept for the observers, and the next read would need a new buffer.
   */
  readonly recordsAsSummary: boolean
}

/**
 * `filters`: the request filters of the request, in request order (client to broker); `responseFilters`: the
 * filters that will see its response (and, with it, the decoded request).
 */
export function requestRename(
  filters: readonly Filter[],
  request: RequestToRename,
  ctxFor: (f: Filter) => FilterContext,
  responseFilters: readonly Filter[],
): RequestRename | undefined {
  if (filters.length === 0 || !canStreamTopicRename(request.apiKey, request.apiVersion, 'request')) return undefined
  // Checked before any filter is asked, so that none is asked for a request that takes the ordinary way.
  let renamers = 0
  for (const f of filters) {
    if (f.observesOnly === true) {
      if (renamers > 0) return undefined
    } else if (f.renameRequestTopics === undefined) return undefined
    else renamers++
  }
  if (renamers === 0) return undefined
  const renames: RequestTopicRename[] = []
  const observers: Filter[] = []
  for (const f of filters) {
    if (f.observesOnly === true) {
      observers.push(f)
      continue
    }
    const rename = f.renameRequestTopics!(request, ctxFor(f))
    if (rename === undefined) return undefined
    renames.push(rename)
  }
  const recordsAsSummary =
    observers.length > 0 &&
    observers.every((f) => f.records === 'summary') &&
    responseFilters.every((f) => f.records === 'summary' || (f.observesOnly !== true && filters.includes(f)))
  return { rename: renames.length === 1 ? renames[0]! : chained(renames), observers, recordsAsSummary }
}

/** A whole request renamed: the new size prefix and names around views of the frame's own pieces. */
export function renameWholeRequest(frame: Frame, apiKey: number, apiVersion: number, rename: TopicRename): Frame {
  const pieces = renameTopics(frame.pieces(), frame.length, apiVersion, rename, apiKey)
  let length = 0
  for (const p of pieces) length += p.length
  return Frame.fromPieces(pieces, length)
}

/** A whole response renamed: the new size prefix and names around views of the frame's own pieces. */
export function renameWholeResponse(frame: Frame, apiVersion: number, rename: TopicRename): Frame {
  const pieces = renameTopics(frame.pieces(), frame.length, apiVersion, rename)
  let length = 0
  for (const p of pieces) length += p.length
  return Frame.fromPieces(pieces, length)
}
