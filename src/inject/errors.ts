import { SidecarError } from '../errors.js'

/**
 * Failures of the sidecar injector (`kafka-sidecar inject-webhook`). The API server shows a webhook's message to
 * whoever created the pod (`kubectl apply` prints it), so every message names the annotation or field, the value,
 * and what to write instead.
 */

/** The HTTP body is not an AdmissionReview the webhook can answer: there is no review uid to answer to. */
export class AdmissionReviewError extends SidecarError {
  /** The HTTP status the webhook answers with. */
  readonly status: number
  constructor(code: `KSC_ERR_INJECT_${string}`, message: string, status = 400) {
    super(code, message)
    this.status = status
  }
}

/** One problem with a pod's injection annotations (or its spec) that makes injection impossible. */
export interface PodProblem {
  /** `metadata.annotations["kafka-sidecar.io/upstream"]`, `spec.containers`. */
  readonly field: string
  readonly message: string
}

/** The pod asks for injection in a way that cannot work; the review is answered with allowed: false and why. */
export class PodInjectionError extends SidecarError {
  readonly problems: readonly PodProblem[]
  constructor(problems: readonly PodProblem[]) {
    super(
      'KSC_ERR_INJECT_POD',
      `kafka-sidecar injection: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
    )
    this.problems = problems
  }
}

/** The injector's own configuration file is missing or invalid (a chart value, usually). */
export class InjectorConfigError extends SidecarError {
  constructor(file: string, problems: readonly string[]) {
    super(
      'KSC_ERR_INJECT_CONFIG',
      `invalid injector configuration (${file}), ${problems.length === 1 ? '1 problem' : `${problems.length} problems`}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    )
  }
}
