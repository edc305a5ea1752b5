/**
 * Kroxylicious, the peer the sidecar is measured against, run from io.kroxylicious:kroxylicious-runtime on
 * Maven Central. The distribution jar (kroxylicious-app) is missing from some mirrors, so the proxy is started
 * through bench/kroxylicious/Launcher.java, which calls the runtime's public classes (ConfigParser, KafkaProxy)
 * the way the distribution's main class does. Maven resolves the classpath once (cached like the harness's
 * Kafka classpath); javac compiles the launcher once per launcher source and classpath.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runCommand } from '../../test/harness/run-command.js'

export const DEFAULT_KROXYLICIOUS_VERSION = '0.12.0'

/** bench/kroxylicious in the repository (this file runs from dist/bench/lib). */
const SOURCE_DIR = fileURLToPath(new URL('../../../bench/kroxylicious/', import.meta.url))

function cacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kafka-sidecar')
}

export class KroxyliciousUnavailableError extends Error {
  readonly code = 'KSC_ERR_BENCH_KROXYLICIOUS_UNAVAILABLE'
}

/** Classpath of kroxylicious-runtime `version` and its dependencies (plus a logging binding). */
export async function resolveKroxyliciousClasspath(version: string, log: (message: string) => void): Promise<string> {
  const pom = join(SOURCE_DIR, 'pom.xml')
  const pomHash = createHash('sha256')
    .update(await readFile(pom))
    .digest('hex')
  const cacheFile = join(cacheDir(), `kroxylicious-${version}.classpath`)
  try {
    const [header = '', classpath = ''] = (await readFile(cacheFile, 'utf8')).split('\n')
    if (header.includes(`pom-sha256=${pomHash}`) && classpath !== '') {
      await Promise.all(classpath.split(':').map((jar) => access(jar)))
      return classpath
    }
  } catch {
    // No cache, or a jar vanished from ~/.m2: resolve again.
  }
  const outputFile = join(cacheDir(), `kroxylicious-${version}.${process.pid}.txt`)
  await mkdir(cacheDir(), { recursive: true })
  const args = [
    '-B',
    '-f',
    pom,
    'dependency:build-classpath',
    `-Dmdep.outputFile=${outputFile}`,
    `-Dkroxylicious.version=${version}`,
    '-Dstyle.color=never',
  ]
  let result = await runCommand('mvn', ['-o', '-q', ...args]).catch((err: Error) => {
    throw new KroxyliciousUnavailableError(`Maven could not be started (${err.message}); install Maven 3.8+`)
  })
  if (result.code !== 0 || !existsSync(outputFile)) {
    log(`resolving io.kroxylicious:kroxylicious-runtime:${version} from Maven Central...`)
    result = await runCommand('mvn', ['-U', ...args])
  }
  if (result.code !== 0 || !existsSync(outputFile)) {
    const output = (result.stdout + result.stderr).replace(/\x1b\[[0-9;]*m/g, '')
    throw new KroxyliciousUnavailableError(
      `Maven could not resolve io.kroxylicious:kroxylicious-runtime:${version}:\n${output.split('\n').slice(-15).join('\n')}`,
    )
  }
  const classpath = (await readFile(outputFile, 'utf8')).trim()
  await rm(outputFile, { force: true })
  const temporary = `${cacheFile}.${process.pid}.tmp`
  await writeFile(temporary, `# kroxylicious ${version} for bench; pom-sha256=${pomHash}\n${classpath}\n`)
  await rename(temporary, cacheFile)
  return classpath
}

/** Compiles Launcher.java against `classpath` with `javac` (cached); returns the directory holding Launcher.class. */
export async function compileLauncher(classpath: string, javac: string): Promise<string> {
  const source = join(SOURCE_DIR, 'Launcher.java')
  const hash = createHash('sha256')
    .update(await readFile(source))
    .update(classpath)
    .update(javac)
    .digest('hex')
    .slice(0, 16)
  const outDir = join(cacheDir(), `kroxylicious-launcher-${hash}`)
  if (existsSync(join(outDir, 'Launcher.class'))) return outDir
  const building = `${outDir}.${process.pid}.tmp`
  await mkdir(building, { recursive: true })
  // --release 17: the runtime is built for Java 17, so the launcher runs on any JDK from 17 up.
  const result = await runCommand(javac, ['--release', '17', '-d', building, '-cp', classpath, source]).catch(
    (err: Error) => {
      throw new KroxyliciousUnavailableError(`javac could not be started (${err.message}); a JDK 17+ is needed`)
    },
  )
  if (result.code !== 0) {
    throw new KroxyliciousUnavailableError(`javac failed on ${source}:\n${result.stdout}${result.stderr}`)
  }
  await rm(outDir, { recursive: true, force: true })
  await rename(building, outDir)
  return outDir
}

/**
 * A plain pass-through virtual cluster (no filters) with port-per-node networking: clients bootstrap at
 * `bootstrapPort`, and node N is reachable at bootstrapPort + 1 + N (node ids 0..maxNodeId).
 * Kroxylicious 0.12 binds its listeners on every interface; only the advertised address is 127.0.0.1.
 */
export function kroxyliciousConfig(upstream: string, bootstrapPort: number, maxNodeId: number): string {
  return [
    'virtualClusters:',
    '  - name: bench',
    '    targetCluster:',
    `      bootstrapServers: ${upstream}`,
    '    gateways:',
    '      - name: plain',
    '        portIdentifiesNode:',
    `          bootstrapAddress: 127.0.0.1:${bootstrapPort}`,
    '          advertisedBrokerAddressPattern: 127.0.0.1',
    `          nodeStartPort: ${bootstrapPort + 1}`,
    '          nodeIdRanges:',
    '            - name: brokers',
    '              start: 0',
    `              end: ${maxNodeId}`,
    '',
  ].join('\n')
}
