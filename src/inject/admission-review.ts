import { AdmissionReviewError } from './errors.js'
import type { PatchOperation } from './pod-patch.js'

/**
 * AdmissionReview admission.k8s.io/v1, as the API server sends it to a webhook and reads the answer back.
 * Field names and rules: k8s.io/api admission/v1/types.go (AdmissionRequest, AdmissionResponse) and the checks the
 * API server makes on the answer, k8s.io/apiserver pkg/admission/plugin/webhook/request/admissionreview.go
 * (VerifyAdmissionResponse): apiVersion admission.k8s.io/v1 and kind AdmissionReview, response.uid equal to the
 * request's, and patch and patchType either both present or both absent.
 */

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1'

/** The parts of AdmissionRequest the injector reads. */
export interface AdmissionRequest {
  readonly uid: string
  readonly kind: { readonly group: string; readonly version: string; readonly kind: string }
  readonly operation: string
  readonly namespace?: string
  readonly name?: string
  readonly dryRun?: boolean
  readonly object?: unknown
}

export interface AdmissionResponseBody {
  readonly uid: string
  readonly allowed: boolean
  readonly status?: { readonly code: number; readonly message: string; readonly reason?: string }
  /** Base64 of the JSON patch text. */
  readonly patch?: string
  readonly patchType?: 'JSONPatch'
  readonly warnings?: readonly string[]
}

export interface AdmissionReviewResponse {
  readonly apiVersion: typeof ADMISSION_API_VERSION
  readonly kind: 'AdmissionReview'
  readonly response: AdmissionResponseBody
}

/**
 * Parses the HTTP body. Throws AdmissionReviewError (answered with HTTP 400 and the message) when there is no
 * review to answer: not JSON, another apiVersion, no request, or no uid. Everything past that (what the object
 * is) is the mutation's business and is answered inside a review.
 */
export function parseAdmissionReview(body: Buffer | string): AdmissionRequest {
  let raw: unknown
  try {
    raw = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'))
  } catch (err) {
    throw new AdmissionReviewError(
      'KSC_ERR_INJECT_REVIEW_JSON',
      `the request body is not JSON (${(err as Error).message}): send an AdmissionReview (admission.k8s.io/v1) as the API server does`,
    )
  }
  if (!isObject(raw)) {
    throw new AdmissionReviewError('KSC_ERR_INJECT_REVIEW_SHAPE', 'the request body is not an AdmissionReview object')
  }
  if (raw.kind !== 'AdmissionReview') {
    throw new AdmissionReviewError(
      'KSC_ERR_INJECT_REVIEW_SHAPE',
      `kind is ${JSON.stringify(raw.kind ?? null)}, not AdmissionReview`,
    )
  }
  if (raw.apiVersion !== ADMISSION_API_VERSION) {
    throw new AdmissionReviewError(
      'KSC_ERR_INJECT_REVIEW_VERSION',
      `apiVersion ${JSON.stringify(raw.apiVersion ?? null)} is not served: this webhook speaks ${ADMISSION_API_VERSION}; ` +
        `register it with admissionReviewVersions: ["v1"]`,
    )
  }
  const req = raw.request
  if (!isObject(req)) {
    throw new AdmissionReviewError('KSC_ERR_INJECT_REVIEW_SHAPE', 'the AdmissionReview has no request object')
  }
  if (typeof req.uid !== 'string' || req.uid === '') {
    throw new AdmissionReviewError('KSC_ERR_INJECT_REVIEW_SHAPE', 'request.uid is missing: it is what the answer names')
  }
  const kind = isObject(req.kind) ? req.kind : {}
  const request: AdmissionRequest = {
    uid: req.uid,
    kind: { group: str(kind.group), version: str(kind.version), kind: str(kind.kind) },
    operation: str(req.operation),
    ...(typeof req.namespace === 'string' ? { namespace: req.namespace } : {}),
    ...(typeof req.name === 'string' ? { name: req.name } : {}),
    ...(typeof req.dryRun === 'boolean' ? { dryRun: req.dryRun } : {}),
    ...(req.object !== undefined ? { object: req.object } : {}),
  }
  return request
}

/** Allowed, with the patch when there is one (an empty patch is sent as none at all). */
export function allowResponse(
  uid: string,
  patch: readonly PatchOperation[],
  warnings: readonly string[] = [],
): AdmissionReviewResponse {
  return review({
    uid,
    allowed: true,
    ...(patch.length > 0
      ? { patchType: 'JSONPatch' as const, patch: Buffer.from(JSON.stringify(patch)).toString('base64') }
      : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  })
}

/** Refused, with the message kubectl shows (`admission webhook "..." denied the request: <message>`). */
export function denyResponse(
  uid: string,
  code: number,
  message: string,
  reason = 'BadRequest',
): AdmissionReviewResponse {
  return review({ uid, allowed: false, status: { code, message, reason } })
}

function review(response: AdmissionResponseBody): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response }
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : ''
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
