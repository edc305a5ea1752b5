import type { ApiVersionsRequest } from '../../codec/messages/generated/api-versions-request.js'
import type { ApiVersionsResponse } from '../../codec/messages/generated/api-versions-response.js'
import { ApiKey } from '../../codec/messages/generated/apis.js'
import type { MetadataResponse } from '../../codec/messages/generated/metadata-response.js'
import type { SaslHandshakeRequest } from '../../codec/messages/generated/sasl-handshake-request.js'
import { BrokerVersions } from './broker-versions.js'
import type { ConnectionState } from './connection-state.js'
import type { ExchangeRuntime } from './exchange-port.js'
import type { DecodedRequest, DecodedResponse } from './filter-api.js'
import { SaslV0Framing } from './sasl-v0.js'

/**
 * What the runtime itself takes from the messages it always decodes, whatever the filters: who the client is
 * (ApiVersions v3+, KIP-511), whether SASL tokens follow bare (SaslHandshake v0, KIP-43), what the broker supports
 * (its ApiVersions answer, for the sidecar's own requests) and topic ids with their names (every Metadata answer).
 */
export class BuiltInProtocol {
  /** SaslHandshake v0: SASL tokens as bare size-prefixed frames with no Kafka header. */
  readonly saslV0 = new SaslV0Framing()
  private readonly versions = new BrokerVersions()

  constructor(
    private readonly state: ConnectionState,
    private readonly rt: ExchangeRuntime,
  ) {}

  request(req: DecodedRequest): void {
    if (req.apiKey === ApiKey.ApiVersions) {
      const body = req.body as ApiVersionsRequest
      if (body.clientSoftwareName !== undefined && body.clientSoftwareVersion !== undefined) {
        this.state.clientSoftware = { name: body.clientSoftwareName, version: body.clientSoftwareVersion }
        this.rt.observer.identified(this.state)
      }
    } else if (req.apiKey === ApiKey.SaslHandshake && req.apiVersion === 0) {
      this.saslV0.handshakeRequested((req.body as SaslHandshakeRequest).mechanism)
    }
  }

  response(res: DecodedResponse): void {
    if (res.apiKey === ApiKey.Metadata) {
      this.rt.services.topics.learnFromMetadata(res.body as MetadataResponse)
    } else if (res.apiKey === ApiKey.ApiVersions) {
      this.versions.learn(res.body as ApiVersionsResponse)
      this.rt.services.versions.learn(res.body as ApiVersionsResponse)
    }
  }

  /**
   * The highest version of an API the broker of this connection and the codec both support (at least `min`); when
   * this connection never saw an ApiVersions answer, what the latest one on any connection said.
   */
  usableVersion(apiKey: number, min: number): number | undefined {
    return this.versions.known ? this.versions.usable(apiKey, min) : this.rt.services.versions.usable(apiKey, min)
  }
}
