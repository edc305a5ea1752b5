import type { SecureContextOptions } from 'node:tls'
import type { ListenTlsConfig } from '../../config/tls-sections.js'

/** What the main thread gives the TLS thread when it starts it (workerData). */
export interface TlsThreadData {
  readonly config: ListenTlsConfig
  readonly contextOptions: SecureContextOptions
  /** Where established clients are handed over: the main thread's relay server on 127.0.0.1. */
  readonly relayPort: number
  readonly token: string
}

/** An error crossing threads: its class name, code and message (what the sidecar's error path logs and counts). */
export interface ErrorData {
  readonly name: string
  readonly code: string
  readonly message: string
}

export type ToTlsThread =
  | {
      readonly t: 'listen'
      readonly id: number
      readonly host: string
      readonly port: number
      readonly reusePort: boolean
    }
  | { readonly t: 'close'; readonly id: number }
  | { readonly t: 'context'; readonly options: SecureContextOptions }
  /** Stop accepting, and answer 'stopped' once every relayed client is closed (or `graceMs` has passed). */
  | { readonly t: 'stop'; readonly graceMs: number }
  /** Answered with 'synced' once every message the thread sent before it has been sent. */
  | { readonly t: 'sync'; readonly id: number }

export type FromTlsThread =
  | { readonly t: 'ready' }
  | {
      readonly t: 'listening'
      readonly id: number
      readonly address: string
      readonly family: string
      readonly port: number
    }
  | { readonly t: 'listen-error'; readonly id: number; readonly error: ErrorData; readonly errno?: string }
  | { readonly t: 'closed'; readonly id: number }
  | { readonly t: 'report'; readonly error: ErrorData }
  | { readonly t: 'refused'; readonly reason: string; readonly key: string; readonly error: ErrorData }
  | { readonly t: 'pending'; readonly sniffing: number; readonly queued: number; readonly handshaking: number }
  /** A pino line of the TLS thread's, as JSON: the main thread's logger writes it. */
  | { readonly t: 'log'; readonly line: string }
  | { readonly t: 'synced'; readonly id: number }
  | { readonly t: 'stopped'; readonly open: number }
