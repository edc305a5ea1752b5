import { SidecarError } from '../errors.js'

/** The command line is wrong: a missing or conflicting option. The message says which and what to pass. */
export class UsageError extends SidecarError {
  constructor(message: string) {
    super('KSC_ERR_CLI_USAGE', message)
  }
}

/** Input given to a command (stdin, --hex) is not what it expects, before any Kafka decoding starts. */
export class InputError extends SidecarError {
  /** Byte (or, for hex text, character) offset of the problem, when there is one. */
  readonly offset: number | undefined
  constructor(message: string, offset?: number) {
    super('KSC_ERR_CLI_INPUT', offset === undefined ? message : `${message} (at byte ${offset})`)
    this.offset = offset
  }
}
