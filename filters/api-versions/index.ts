import type { ApiVersionsResponse } from '../../codec/messages/generated/api-versions-response.js'
import { API_DEFINITIONS, ApiKey } from '../../codec/messages/generated/apis.js'
import { type ConfiguredFilter, type Filter, type FilterPlugin, replace } from '../../src/pipeline/filter-api.js'

/**
 * Built-in: version negotiation. The broker's ApiVersions answer is narrowed to what the sidecar can also
 * decode, so a client never picks a version (newer than our codec) whose responses the sidecar would have to
 * rewrite but could not parse. APIs the codec does not know are removed for the same reason.
 *
 * Minimums are never raised: Kafka 4.x brokers still advertise Produce v0 although v0-2 were removed
 * (KAFKA-18659), and librdkafka disables compression when the advertised Produce minimum is 3 or more
 * (librdkafka#4956; Kroxylicious keeps min 0 for the same reason, kroxylicious#2851). Versions below the
 * codec's minimum are then passed through undecoded, which is safe because no broker address travels in them.
 */
/**
 * Fetch is capped below v16. From v16 a Fetch response may end with KIP-951 NodeEndpoints (real broker addresses
 * that must be rewritten), which can only be known once its last byte is in: every Fetch response, megabytes of
 * records, would have to be held in full before the client sees its first byte, adding a whole transfer time to
 * each fetch round trip. Below v16 nothing in a Fetch response needs rewriting, so it streams through as it
 * arrives. The cost: after a leader moves, a consumer learns the new leader from a Metadata refresh instead of
 * from the Fetch response (what clients did before Kafka 3.7). v13-15 keep topic ids; v15 only adds replica
 * state used between brokers (FetchRequest.json).
 */
export const FETCH_MAX_VERSION = 15

export function intersectApiVersions(body: ApiVersionsResponse): ApiVersionsResponse {
  const apiKeys = body.apiKeys.flatMap((entry) => {
    const api = API_DEFINITIONS[entry.apiKey]
    if (api === undefined) return []
    const codecMax =
      entry.apiKey === ApiKey.Fetch ? Math.min(FETCH_MAX_VERSION, api.request.maxVersion) : api.request.maxVersion
    if (api.request.minVersion > codecMax || entry.minVersion > codecMax) return []
    return [{ ...entry, maxVersion: Math.min(entry.maxVersion, codecMax) }]
  })
  return { ...body, apiKeys }
}

class ApiVersionsFilter implements Filter {
  wantsResponse(apiKey: number): boolean {
    return apiKey === ApiKey.ApiVersions
  }

  onResponse(res: { body: unknown }) {
    const body = res.body as ApiVersionsResponse
    // An error answer (UNSUPPORTED_VERSION) lists what the broker accepts for ApiVersions itself: narrow it too.
    return replace(intersectApiVersions(body))
  }
}

const filter = new ApiVersionsFilter()

export const apiVersionsPlugin: FilterPlugin<undefined> = {
  name: 'api-versions',
  parseConfig: () => undefined,
  configure: (): ConfiguredFilter => ({ name: 'api-versions', forConnection: () => filter }),
}
