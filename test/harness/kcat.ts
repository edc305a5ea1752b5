import { KcatMissingError } from './errors.js'
import { type CommandResult, runCommand } from './run-command.js'

export interface KcatOptions {
  /** Written to kcat's stdin (producer mode reads one message per line). */
  input?: string
  /** Kill kcat after this long; the result then has timedOut: true. Default 60 s. */
  timeoutMs?: number
}

/**
 * Runs kcat (librdkafka's CLI; Debian package kcat) to completion: a client nobody on this project wrote,
 * pointed at a broker as a user would. `args` are kcat's own, e.g. ['-b', bootstrap, '-L'].
 */
export async function runKcat(args: readonly string[], options: KcatOptions = {}): Promise<CommandResult> {
  try {
    return await runCommand('kcat', args, {
      ...(options.input !== undefined && { input: options.input }),
      timeoutMs: options.timeoutMs ?? 60_000,
    })
  } catch (err) {
    throw new KcatMissingError((err as Error).message)
  }
}

export interface KcatVersions {
  kcat: string
  librdkafka: string
}

let versions: Promise<KcatVersions> | undefined

/** Versions of kcat and of the librdkafka it runs on (`kcat -V`), read once. */
export function kcatVersions(): Promise<KcatVersions> {
  versions ??= runKcat(['-V'], { timeoutMs: 10_000 }).then((result) => {
    const text = result.stdout + result.stderr
    return {
      kcat: /Version (\S+)/.exec(text)?.[1] ?? 'unknown',
      librdkafka: /librdkafka (\d+\.\d+\.\d+)/.exec(text)?.[1] ?? '0.0.0',
    }
  })
  return versions
}

/**
 * Whether this kcat can authenticate with SCRAM against a broker of `kafkaVersion`. librdkafka before 2.6.1
 * appends the client nonce twice in the SCRAM client-final message; Kafka 4.x checks the nonce strictly
 * (RFC 5802) and rejects it as invalid credentials (confluentinc/librdkafka#4895, edenhill/kcat#462).
 * Debian 12's kcat 1.7.1 ships librdkafka 2.0.2, so it cannot do SCRAM with Kafka 4.
 */
export async function kcatSupportsScram(kafkaVersion: string): Promise<boolean> {
  const { librdkafka } = await kcatVersions()
  return Number.parseInt(kafkaVersion, 10) < 4 || compareVersions(librdkafka, '2.6.1') >= 0
}

function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number)
  const right = b.split('.').map(Number)
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0)
    if (difference !== 0) return Math.sign(difference)
  }
  return 0
}
