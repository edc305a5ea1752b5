/**
 * Every failure the sidecar reports has its own class and a stable code, `KSC_ERR_<AREA>_<WHAT>`,
 * so operators can grep logs and callers can branch on `err.code` instead of parsing messages.
 * Messages say what went wrong and what to do about it.
 */
export class SidecarError extends Error {
  readonly code: string

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}
