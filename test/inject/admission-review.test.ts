import { describe, expect, it } from 'vitest'
import { allowResponse, denyResponse, parseAdmissionReview } from '../../src/inject/admission-review.js'
import { AdmissionReviewError } from '../../src/inject/errors.js'

const review = (request: unknown, apiVersion = 'admission.k8s.io/v1') =>
  JSON.stringify({ apiVersion, kind: 'AdmissionReview', request })

function refusal(body: string): AdmissionReviewError {
  try {
    parseAdmissionReview(body)
  } catch (err) {
    expect(err).toBeInstanceOf(AdmissionReviewError)
    return err as AdmissionReviewError
  }
  throw new Error('expected a refusal')
}

describe('parseAdmissionReview', () => {
  it('reads the request fields the injector uses', () => {
    const r = parseAdmissionReview(
      review({
        uid: 'a1',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        operation: 'CREATE',
        namespace: 'shop',
        dryRun: true,
        object: { kind: 'Pod' },
      }),
    )
    expect(r).toEqual({
      uid: 'a1',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      operation: 'CREATE',
      namespace: 'shop',
      dryRun: true,
      object: { kind: 'Pod' },
    })
  })

  it('refuses what is not a v1 review with a uid, each with its own code and the fix', () => {
    expect(refusal('{').code).toBe('KSC_ERR_INJECT_REVIEW_JSON')
    expect(refusal('[]').code).toBe('KSC_ERR_INJECT_REVIEW_SHAPE')
    expect(refusal(JSON.stringify({ kind: 'Pod' })).message).toBe('kind is "Pod", not AdmissionReview')
    const v1beta1 = refusal(review({ uid: 'a' }, 'admission.k8s.io/v1beta1'))
    expect(v1beta1.code).toBe('KSC_ERR_INJECT_REVIEW_VERSION')
    expect(v1beta1.message).toContain('admissionReviewVersions: ["v1"]')
    expect(refusal(review(undefined)).message).toBe('the AdmissionReview has no request object')
    expect(refusal(review({ uid: '' })).message).toContain('request.uid is missing')
    expect(refusal(review({ operation: 'CREATE' })).status).toBe(400)
  })
})

describe('responses', () => {
  it('carries the patch as base64 JSON with its type, or neither (the API server checks they come together)', () => {
    const patch = [{ op: 'add' as const, path: '/a', value: 1 }]
    const allowed = allowResponse('u', patch, ['w'])
    expect(allowed).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid: 'u',
        allowed: true,
        patchType: 'JSONPatch',
        patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
        warnings: ['w'],
      },
    })
    expect(allowResponse('u', []).response).toEqual({ uid: 'u', allowed: true })
    expect(denyResponse('u', 400, 'no').response).toEqual({
      uid: 'u',
      allowed: false,
      status: { code: 400, message: 'no', reason: 'BadRequest' },
    })
  })
})
