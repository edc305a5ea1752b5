import type http from 'node:http'
import https from 'node:https'
import type { Logger } from 'pino'
import { Counter, Registry } from 'prom-client'
import { formatHostPort, type HostPort } from '../config/host-port.js'
import { bind } from '../server/bind.js'
import { ReloadingTlsMaterial } from '../tls/reloading-material.js'
import {
  type AdmissionRequest,
  type AdmissionReviewResponse,
  allowResponse,
  denyResponse,
  parseAdmissionReview,
} from './admission-review.js'
import { AdmissionReviewError, PodInjectionError } from './errors.js'
import type { InjectorConfig } from './injector-config.js'
import { mutatePod } from './pod-patch.js'

/**
 * The injector's HTTPS server. Routes:
 *   POST /inject            pods the API server selected by a namespace or pod label: injected unless opted out
 *   POST /inject-annotated  pods of namespaces that did not opt in: injected only with kafka-sidecar.io/inject: "true"
 *   GET  /healthz, /readyz  for the kubelet
 *   GET  /metrics           kafka_sidecar_injector_reviews_total{outcome} (Prometheus text format)
 * A body that is no AdmissionReview gets HTTP 400 with the reason; a pod that cannot be injected gets a review
 * with allowed: false and the reason; a bug gets HTTP 500 (the webhook's failurePolicy decides). Nothing a
 * request carries can stop the server.
 */

/** Pods are stored in etcd, whose default request limit is 1.5 MiB; a review carries one pod (and maybe the old one). */
export const MAX_REVIEW_BYTES = 8 * 1024 * 1024

export interface WebhookServerOptions {
  readonly config: InjectorConfig
  readonly tls: { readonly cert: string; readonly key: string }
  readonly log: Logger
  readonly version: string
}

export class WebhookServer {
  private readonly server: https.Server
  private readonly material: ReloadingTlsMaterial
  private readonly registry = new Registry()
  private readonly reviews = new Counter({
    name: 'kafka_sidecar_injector_reviews_total',
    help: 'Admission reviews answered, by outcome (injected, already-injected, skip-*, refused, not-a-pod-create, malformed, error)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })

  constructor(private readonly options: WebhookServerOptions) {
    this.material = new ReloadingTlsMaterial({
      section: 'inject-webhook TLS (--tls-cert, --tls-key)',
      files: options.tls,
      log: options.log,
    })
    this.server = https.createServer(
      { ...this.material.current.contextOptions, requestTimeout: 30_000, headersTimeout: 10_000 },
      (req, res) => this.handle(req, res),
    )
    // cert-manager renews the serving certificate into the mounted Secret; new connections get the new one.
    this.material.on('reloaded', (m) => this.server.setSecureContext(m.contextOptions))
    this.server.on('tlsClientError', (err) => options.log.debug({ err: err.message }, 'TLS handshake failed'))
  }

  async listen(address: HostPort): Promise<HostPort> {
    const bound = await bind(this.server, address)
    this.material.start()
    this.options.log.info(
      { address: formatHostPort(bound), certificate: this.material.current.leaf?.subject },
      'sidecar injector listening (POST /inject, /inject-annotated)',
    )
    return bound
  }

  /** Stops accepting, lets requests in progress finish. */
  close(): Promise<void> {
    this.material.close()
    return new Promise((resolve) => {
      this.server.close(() => resolve())
      this.server.closeIdleConnections()
    })
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]!
    if (path === '/healthz' || path === '/readyz') {
      send(res, 200, { status: 'ok' })
      return
    }
    if (path === '/metrics' && req.method === 'GET') {
      this.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': this.registry.contentType })
          res.end(text)
        },
        () => send(res, 500, { error: 'metrics unavailable' }),
      )
      return
    }
    if (path !== '/inject' && path !== '/inject-annotated') {
      send(res, 404, { error: `no such endpoint ${path}: POST AdmissionReviews to /inject or /inject-annotated` })
      return
    }
    if (req.method !== 'POST') {
      send(res, 405, { error: `${req.method} ${path}: the API server POSTs AdmissionReviews here` })
      return
    }
    readBody(req, MAX_REVIEW_BYTES).then(
      (body) => {
        if (body === undefined) {
          this.reviews.inc({ outcome: 'malformed' })
          send(res, 413, {
            code: 'KSC_ERR_INJECT_REVIEW_TOO_LARGE',
            error: `the AdmissionReview is larger than ${MAX_REVIEW_BYTES} bytes`,
          })
          return
        }
        try {
          this.review(body, path === '/inject-annotated', res)
        } catch (err) {
          this.reviews.inc({ outcome: 'error' })
          this.options.log.error({ err }, 'admission review failed')
          if (!res.headersSent) {
            send(res, 500, { code: 'KSC_ERR_INJECT_INTERNAL', error: `the injector failed: ${(err as Error).message}` })
          }
        }
      },
      (err: Error) => this.options.log.debug({ err: err.message }, 'review body not read (client went away)'),
    )
  }

  private review(body: Buffer, requireOptIn: boolean, res: http.ServerResponse): void {
    const { log } = this.options
    let request: AdmissionRequest
    try {
      request = parseAdmissionReview(body)
    } catch (err) {
      if (!(err instanceof AdmissionReviewError)) throw err
      this.reviews.inc({ outcome: 'malformed' })
      log.warn({ code: err.code, err: err.message }, 'malformed admission review refused')
      send(res, err.status, { code: err.code, error: err.message })
      return
    }
    const who = { uid: request.uid, namespace: request.namespace, pod: podName(request), dryRun: request.dryRun }
    const { answer, outcome } = this.answer(request, requireOptIn)
    const r = answer.response
    this.reviews.inc({ outcome })
    log.info({ ...who, outcome, warnings: r.warnings, reason: r.status?.message }, 'admission review answered')
    send(res, 200, answer)
  }

  private answer(
    request: AdmissionRequest,
    requireOptIn: boolean,
  ): { answer: AdmissionReviewResponse; outcome: string } {
    // The chart registers the webhook for pod CREATE only; anything else passes untouched.
    if (request.kind.group !== '' || request.kind.kind !== 'Pod' || request.operation !== 'CREATE') {
      return { answer: allowResponse(request.uid, []), outcome: 'not-a-pod-create' }
    }
    try {
      const mutation = mutatePod(request.object, this.options.config, { requireOptIn, version: this.options.version })
      return { answer: allowResponse(request.uid, mutation.patch, mutation.warnings), outcome: mutation.outcome }
    } catch (err) {
      if (!(err instanceof PodInjectionError)) throw err
      return { answer: denyResponse(request.uid, 400, err.message), outcome: 'refused' }
    }
  }
}

function podName(request: AdmissionRequest): string | undefined {
  if (request.name !== undefined && request.name !== '') return request.name
  const meta = (request.object as { metadata?: { name?: unknown; generateName?: unknown } } | undefined)?.metadata
  if (typeof meta?.name === 'string') return meta.name
  return typeof meta?.generateName === 'string' ? `${meta.generateName}*` : undefined
}

/** The whole body, or undefined when it is longer than `limit` (the rest is not read). */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        resolve(undefined)
        req.removeAllListeners('data')
        req.resume()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}
