import type { Reader } from '../primitives/reader.js'
import type { Writer } from '../primitives/writer.js'

/** Reads, sizes and writes one message type (a request or response body, a header, or a data struct). */
export interface MessageCodec<T = unknown> {
  readonly name: string
  /** Lowest and highest version the codec can decode (the spec's validVersions); min > max: none. */
  readonly minVersion: number
  readonly maxVersion: number
  /** First version using compact encodings and tagged fields; +Infinity when the message has none. */
  readonly flexibleMinVersion: number
  read(r: Reader, version: number): T
  /** Moves past one message without building it; with stopAtTags, stops at its tagged-field section. */
  skip(r: Reader, version: number, stopAtTags?: boolean): void
  size(m: T, version: number): number
  write(w: Writer, m: T, version: number): void
}

/** One Kafka API: its key, name and the codecs for its request and response bodies. */
export interface ApiDefinition {
  readonly apiKey: number
  /** Name without the Request/Response suffix, as in Kafka's ApiKeys ("Produce", "ApiVersions"). */
  readonly name: string
  /** Which kinds of Kafka node serve it: 'broker', 'controller', 'zkBroker' (from the spec). */
  readonly listeners: readonly string[]
  /** True when the newest version in the spec is still under development (not advertised by brokers). */
  readonly latestVersionUnstable: boolean
  // biome-ignore lint/suspicious/noExplicitAny: each entry is typed through RequestByApiKey/ResponseByApiKey.
  readonly request: MessageCodec<any>
  // biome-ignore lint/suspicious/noExplicitAny: see above.
  readonly response: MessageCodec<any>
}
