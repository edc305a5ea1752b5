import { SidecarError } from '../../src/errors.js'
import type { CommandResult } from './run-command.js'
import type { SystemTool } from './system-tools.js'

/**
 * Failures of the real-Kafka test harness. Each class has a stable code (`KSC_ERR_HARNESS_<WHAT>`) so a test,
 * the CLI or CI can tell "your machine lacks Java" from "the broker crashed" without parsing messages,
 * and every message says what to do next.
 */
export class HarnessError extends SidecarError {}

export class JavaMissingError extends HarnessError {
  constructor(detail: string) {
    super(
      'KSC_ERR_HARNESS_JAVA_MISSING',
      `Java 17+ is required to run the Kafka test brokers, but \`java\` could not be run (${detail}). ` +
        'Install it, e.g. `apt-get install openjdk-17-jre-headless`, or put it on PATH.',
    )
  }
}

export class JavaTooOldError extends HarnessError {
  constructor(found: string) {
    super(
      'KSC_ERR_HARNESS_JAVA_TOO_OLD',
      `Java 17+ is required to run the Kafka test brokers, found Java ${found}. ` +
        'Install a newer one, e.g. `apt-get install openjdk-17-jre-headless`, and put it first on PATH.',
    )
  }
}

export class MavenMissingError extends HarnessError {
  constructor(detail: string) {
    super(
      'KSC_ERR_HARNESS_MAVEN_MISSING',
      `Maven is required to download the Kafka jars for the test brokers, but \`mvn\` could not be run (${detail}). ` +
        'Install it, e.g. `apt-get install maven`, or put it on PATH.',
    )
  }
}

export class MavenUnreachableError extends HarnessError {
  constructor(version: string, outputTail: string) {
    super(
      'KSC_ERR_HARNESS_MAVEN_UNREACHABLE',
      `Could not download the Kafka ${version} jars: Maven Central is unreachable from this machine. ` +
        'Check network access (or proxy settings in ~/.m2/settings.xml); once downloaded the jars are reused offline.\n' +
        `Last lines from Maven:\n${outputTail}`,
    )
  }
}

export class KafkaVersionUnavailableError extends HarnessError {
  constructor(version: string, outputTail: string) {
    super(
      'KSC_ERR_HARNESS_KAFKA_VERSION_UNAVAILABLE',
      `Kafka ${version} (or one of its jars) is not on Maven Central. Pick a released version, e.g. 4.3.1 or 3.9.2.\n` +
        `Last lines from Maven:\n${outputTail}`,
    )
  }
}

export class MavenFailedError extends HarnessError {
  constructor(version: string, exitCode: number | null, outputTail: string) {
    super(
      'KSC_ERR_HARNESS_MAVEN_FAILED',
      `Maven failed (exit code ${exitCode}) while resolving the Kafka ${version} jars.\nLast lines from Maven:\n${outputTail}`,
    )
  }
}

export class HarnessConfigError extends HarnessError {
  constructor(key: string, value: unknown, expected: string) {
    super(
      'KSC_ERR_HARNESS_CONFIG_INVALID',
      `Invalid harness option ${key}=${JSON.stringify(value)}: expected ${expected}.`,
    )
  }
}

export class StorageFormatError extends HarnessError {
  constructor(nodeId: number, exitCode: number | null, outputTail: string) {
    super(
      'KSC_ERR_HARNESS_STORAGE_FORMAT_FAILED',
      `Formatting the KRaft storage of node ${nodeId} failed (exit code ${exitCode}).\nLast lines of its output:\n${outputTail}`,
    )
  }
}

export class BrokerStartTimeoutError extends HarnessError {
  constructor(what: string, timeoutMs: number, detail: string, logExcerpts: string) {
    super(
      'KSC_ERR_HARNESS_BROKER_START_TIMEOUT',
      `${what} did not serve requests within ${timeoutMs} ms (${detail}). ` +
        'On a slow machine raise startTimeoutMs; otherwise the broker log below says why.\n' +
        logExcerpts,
    )
  }
}

export class BrokerExitedError extends HarnessError {
  readonly nodeId: number
  readonly exitCode: number | null

  constructor(nodeId: number, exitCode: number | null, logFile: string, logExcerpt: string) {
    super(
      'KSC_ERR_HARNESS_BROKER_EXITED',
      `Kafka node ${nodeId} exited (code ${exitCode}) before it served requests. Log: ${logFile}\n${logExcerpt}`,
    )
    this.nodeId = nodeId
    this.exitCode = exitCode
  }
}

export class PortInUseError extends HarnessError {
  readonly nodeId: number
  readonly address: string | undefined

  constructor(nodeId: number, address: string | undefined, logExcerpt: string) {
    super(
      'KSC_ERR_HARNESS_PORT_IN_USE',
      `Kafka node ${nodeId} could not bind ${address ?? 'one of its ports'}: address already in use. ` +
        'Another process holds that port; free it or let the harness pick ports (omit brokerPorts).\n' +
        logExcerpt,
    )
    this.nodeId = nodeId
    this.address = address
  }
}

export class UnknownNodeError extends HarnessError {
  constructor(nodeId: number, known: readonly number[]) {
    super('KSC_ERR_HARNESS_UNKNOWN_NODE', `This cluster has no node ${nodeId}; its node ids are ${known.join(', ')}.`)
  }
}

export class NodeStateError extends HarnessError {
  constructor(nodeId: number, wanted: string, actual: string) {
    super('KSC_ERR_HARNESS_NODE_STATE', `Cannot ${wanted} node ${nodeId}: it is ${actual}.`)
  }
}

export class ClusterStoppedError extends HarnessError {
  constructor(name: string) {
    super('KSC_ERR_HARNESS_CLUSTER_STOPPED', `Cluster ${name} has been stopped; start a new one.`)
  }
}

export class ToolClassNotFoundError extends HarnessError {
  constructor(tool: string, version: string, candidates: readonly string[]) {
    super(
      'KSC_ERR_HARNESS_TOOL_CLASS_NOT_FOUND',
      `None of the known main classes of the Kafka tool "${tool}" (${candidates.join(', ')}) is in the Kafka ${version} jars. ` +
        'Kafka moved it: add its new class name to the candidate list in test/harness/kafka-classes.ts.',
    )
  }
}

export class ToolTimeoutError extends HarnessError {
  readonly stdout: string
  readonly stderr: string

  constructor(tool: string, timeoutMs: number, stdout: string, stderr: string) {
    super(
      'KSC_ERR_HARNESS_TOOL_TIMEOUT',
      `The Kafka tool "${tool}" did not finish within ${timeoutMs} ms and was killed. ` +
        'Give it a bound of its own (e.g. --max-messages/--timeout-ms) or raise timeoutMs.\n' +
        `Last lines of its stderr:\n${lastLines(stderr, 20)}`,
    )
    this.stdout = stdout
    this.stderr = stderr
  }
}

export class ControlRequestError extends HarnessError {
  /** Code of the error the globalSetup process hit while serving the request, when it had one. */
  readonly remoteCode: string | undefined

  constructor(what: string, detail: string, remoteCode?: string) {
    super('KSC_ERR_HARNESS_CONTROL_REQUEST', `Cluster control request "${what}" failed: ${detail}`)
    this.remoteCode = remoteCode
  }
}

export class UnknownClusterError extends HarnessError {
  constructor(name: string, known: readonly string[]) {
    super(
      'KSC_ERR_HARNESS_UNKNOWN_CLUSTER',
      `No shared test cluster is named "${name}"; this run has: ${known.join(', ') || '(none)'}.`,
    )
  }
}

export class NotSupportedError extends HarnessError {
  constructor(what: string, why: string) {
    super('KSC_ERR_HARNESS_NOT_SUPPORTED', `${what} is not supported: ${why}`)
  }
}

export class DockerUnavailableError extends HarnessError {
  constructor(detail: string) {
    super(
      'KSC_ERR_HARNESS_DOCKER_UNAVAILABLE',
      `KAFKA_HARNESS=testcontainers needs a running Docker (or compatible) engine, and none was found: ${detail}. ` +
        'Start Docker, or unset KAFKA_HARNESS to run Kafka from the Maven jars (the default, no Docker needed).',
    )
  }
}

export class TlsMaterialError extends HarnessError {
  constructor(step: string, outputTail: string) {
    super(
      'KSC_ERR_HARNESS_TLS_MATERIAL',
      `Generating test TLS material failed at "${step}" (is \`openssl\` installed? apt-get install openssl).\n${outputTail}`,
    )
  }
}

export class KcatMissingError extends HarnessError {
  constructor(detail: string) {
    super(
      'KSC_ERR_HARNESS_KCAT_MISSING',
      `kcat (the librdkafka command-line client) is required by these tests but could not be run (${detail}). ` +
        'Install it, e.g. `apt-get install kcat`.',
    )
  }
}

function describeTools(tools: readonly SystemTool[]): string {
  const each = tools.map((tool) => `${tool.command} (${tool.usedFor})`)
  return each.length === 1 ? each[0]! : `${each.slice(0, -1).join(', ')} and ${each.at(-1)}`
}

/** System tools the tests need are missing and this run may not install them (test/harness/system-tools.ts). */
export class SystemToolsMissingError extends HarnessError {
  constructor(tools: readonly SystemTool[], installCommand: string, why: string) {
    const one = tools.length === 1
    super(
      'KSC_ERR_HARNESS_TOOLS_MISSING',
      `The tests need ${describeTools(tools)}, which ${one ? 'is' : 'are'} not installed, and this run does not ` +
        `install ${one ? 'it' : 'them'} (${why}). Install ${one ? 'it' : 'them'} with \`${installCommand}\` ` +
        '(elsewhere, the package that provides ' +
        `${tools.map((tool) => tool.command).join(' and ')}), then run npm test again.`,
    )
  }
}

/** apt-get could not install the system tools the tests need. */
export class SystemToolsInstallError extends HarnessError {
  constructor(tools: readonly SystemTool[], command: string, result: CommandResult) {
    super(
      'KSC_ERR_HARNESS_TOOLS_INSTALL',
      `Installing ${tools.map((tool) => tool.command).join(', ')} for the tests failed (\`${command}\` exited ` +
        `${result.code ?? result.signal}). Install ${tools.length === 1 ? 'it' : 'them'} by hand and run npm test ` +
        `again.\nLast lines from apt-get:\n${lastLines(result.stdout + result.stderr, 8)}`,
    )
  }
}

/** The last `count` non-empty lines of a text, for error messages that must stay readable. */
export function lastLines(text: string, count: number): string {
  const lines = text.split('\n').filter((line) => line.trim() !== '')
  return lines.slice(-count).join('\n')
}
