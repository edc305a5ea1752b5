import type { Logger } from 'pino'
import type { SidecarConfig } from '../config/schema.js'
import type { ApiKeyNumber, SentResponse, UpstreamClientService } from '../pipeline/filter-api.js'
import type { UpstreamClient } from '../upstream-client/index.js'
import type { UpstreamConnector } from './upstream-connector.js'

/**
 * The sidecar's own upstream client as the filters' setup service: built from upstream.bootstrap, upstream.tls (the
 * connector) and upstream.client on first use, so a sidecar whose filters never produce on their own opens no
 * connection for it. Closed (its queued records flushed, within a bound) when the sidecar shuts down.
 */
export class OwnUpstreamClient implements UpstreamClientService {
  private client: UpstreamClient | undefined
  private starting: Promise<UpstreamClient> | undefined

  constructor(
    private readonly config: SidecarConfig['upstream'],
    private readonly connector: UpstreamConnector,
    private readonly log: Logger,
  ) {}

  /** The client, made (and its code loaded: a few MB a sidecar without such filters should not carry) on first use. */
  private started(): Promise<UpstreamClient> {
    this.starting ??= import('../upstream-client/index.js').then(({ UpstreamClient }) => {
      const c = this.config.client
      this.client = new UpstreamClient({
        bootstrap: this.config.bootstrap,
        connector: this.connector,
        clientId: c.clientId,
        ...(c.sasl !== undefined ? { sasl: c.sasl } : {}),
        requestTimeoutMs: c.requestTimeoutMs,
        metadataMaxAgeMs: c.metadataMaxAgeMs,
        log: this.log.child({ component: 'upstream-client' }),
      })
      this.client.start()
      return this.client
    })
    return this.starting
  }

  async send<K extends ApiKeyNumber>(
    target: number | 'any',
    apiKey: K,
    apiVersion: number | 'max',
    body: Parameters<UpstreamClientService['send']>[3],
  ): Promise<SentResponse<K>> {
    const res = await (await this.started()).send(target, apiKey, apiVersion, body as never)
    return { apiKey, apiVersion: res.apiVersion, body: res.body as SentResponse<K>['body'] }
  }

  async produce(
    topic: string,
    records: Parameters<UpstreamClientService['produce']>[1],
    options?: Parameters<UpstreamClientService['produce']>[2],
  ): Promise<readonly { readonly partition: number; readonly offset: bigint }[]> {
    return (await this.started()).produce(topic, records, options)
  }

  produceRecordBatch(
    topic: string,
    partition: number | undefined,
    batch: Buffer,
    options?: Parameters<NonNullable<UpstreamClientService['produceRecordBatch']>>[3],
  ): Promise<{ readonly partition: number; readonly baseOffset: bigint }> {
    // Straight to the client once it is made: a tap calls this for every batch it builds.
    const client = this.client
    if (client !== undefined) return client.produceBatch(topic, partition, batch, options)
    return this.started().then((c) => c.produceBatch(topic, partition, batch, options))
  }

  partitionCount(topic: string): number | undefined {
    return this.client?.partitionCount(topic)
  }

  health(): { readonly connected: boolean; readonly lastError?: string } {
    if (this.client === undefined) return { connected: false, lastError: 'not started (no filter has used it yet)' }
    return this.client.health()
  }

  async close(timeoutMs: number): Promise<void> {
    if (this.starting !== undefined) await (await this.starting).close({ timeoutMs })
  }
}
