import type { ApiVersionsResponse } from '../../codec/messages/generated/api-versions-response.js'
import { API_DEFINITIONS } from '../../codec/messages/generated/apis.js'

/**
 * What the broker of one connection supports, from its ApiVersions answer (before the sidecar narrows it for the
 * client), so the sidecar's own requests on that connection pick a version both sides know.
 */
export class BrokerVersions {
  private ranges: ReadonlyMap<number, { min: number; max: number }> | undefined

  /** True once an answer was seen. */
  get known(): boolean {
    return this.ranges !== undefined
  }

  learn(body: ApiVersionsResponse): void {
    if (body.errorCode !== 0) return
    this.ranges = new Map(body.apiKeys.map((k) => [k.apiKey, { min: k.minVersion, max: k.maxVersion }]))
  }

  /** The highest version of an API that the broker and the codec both support, if it is at least `min`. */
  usable(apiKey: number, min: number): number | undefined {
    const api = API_DEFINITIONS[apiKey]
    const broker = this.ranges?.get(apiKey)
    if (api === undefined || broker === undefined) return undefined
    const max = Math.min(broker.max, api.request.maxVersion)
    return max >= Math.max(min, broker.min, api.request.minVersion) ? max : undefined
  }
}
