import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { access, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  HarnessConfigError,
  JavaMissingError,
  JavaTooOldError,
  KafkaVersionUnavailableError,
  lastLines,
  MavenFailedError,
  MavenMissingError,
  MavenUnreachableError,
} from './errors.js'
import { runCommand } from './run-command.js'

/** The newest Kafka release whose jars (broker and tools) are all on Maven Central. */
export const DEFAULT_KAFKA_VERSION = '4.3.1'

/** Kafka 4 brokers and tools need Java 17. */
const MIN_JAVA_MAJOR = 17

export interface ResolveClasspathOptions {
  /** Progress messages for the slow first download; default: stderr. */
  log?: (message: string) => void
  /** Where classpaths are cached; default: $XDG_CACHE_HOME/kafka-sidecar or ~/.cache/kafka-sidecar. */
  cacheDir?: string
}

const resolving = new Map<string, Promise<string>>()
let javaChecked: Promise<number> | undefined

/** The java binary: $JAVA_HOME/bin/java when JAVA_HOME is set, else `java` from PATH. */
export function javaCommand(): string {
  const home = process.env.JAVA_HOME
  return home ? join(home, 'bin', 'java') : 'java'
}

/** Fails with an install hint unless Java 17+ runs here; returns its major version. Checked once per process. */
export function checkJava(): Promise<number> {
  javaChecked ??= (async () => {
    let output: string
    try {
      const result = await runCommand(javaCommand(), ['-version'])
      output = result.stderr + result.stdout
      if (result.code !== 0)
        throw new JavaMissingError(`\`java -version\` exited with ${result.code}: ${lastLines(output, 3)}`)
    } catch (err) {
      if (err instanceof JavaMissingError) throw err
      throw new JavaMissingError((err as Error).message)
    }
    // `openjdk version "17.0.15"`, `java version "1.8.0_392"`, `openjdk version "21" 2023-09-19`
    const match = /version "(\d+)(?:\.(\d+))?/.exec(output)
    if (!match) throw new JavaMissingError(`cannot read the version from: ${lastLines(output, 3)}`)
    const major = match[1] === '1' ? Number(match[2]) : Number(match[1])
    if (major < MIN_JAVA_MAJOR) throw new JavaTooOldError(String(major))
    return major
  })()
  javaChecked.catch(() => {
    javaChecked = undefined
  })
  return javaChecked
}

/**
 * The Java classpath (colon-separated jar paths) of the Kafka broker, its tools and one slf4j binding,
 * for `version`. Maven resolves it from test/harness/maven/pom.xml the first time (offline if the jars
 * are already in ~/.m2, else from Maven Central); the answer is cached per version together with a hash
 * of the pom, and revalidated (pom unchanged, every jar still there) on each use.
 */
export function resolveKafkaClasspath(version: string, options: ResolveClasspathOptions = {}): Promise<string> {
  if (!/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(version)) {
    return Promise.reject(new HarnessConfigError('version', version, 'a Kafka release such as 4.3.1 or 3.9.2'))
  }
  // Callers that ask at once (clusters starting in parallel) share one Maven run; later calls re-read the
  // cache file, which also revalidates it.
  const key = `${options.cacheDir ?? ''}\0${version}`
  let promise = resolving.get(key)
  if (!promise) {
    promise = resolveUncached(version, options)
    resolving.set(key, promise)
    const forget = (): void => {
      resolving.delete(key)
    }
    promise.then(forget, forget)
  }
  return promise
}

async function resolveUncached(version: string, options: ResolveClasspathOptions): Promise<string> {
  await checkJava()
  const log = options.log ?? ((message: string) => process.stderr.write(`[kafka-harness] ${message}\n`))
  const pom = harnessPomPath()
  const pomHash = createHash('sha256')
    .update(await readFile(pom))
    .digest('hex')
  const cacheFile = join(options.cacheDir ?? defaultCacheDir(), `kafka-${version}.classpath`)

  const cached = await readCachedClasspath(cacheFile, pomHash)
  if (cached) return cached

  await checkMaven()
  const workDir = await mkdtemp(join(tmpdir(), 'ksc-mvn-'))
  try {
    const outputFile = join(workDir, 'classpath.txt')
    const args = [
      '-B',
      '-f',
      pom,
      'dependency:build-classpath',
      `-Dmdep.outputFile=${outputFile}`,
      `-Dkafka.version=${version}`,
      '-Dstyle.color=never',
    ]
    // Offline first: when the jars are already in ~/.m2 this avoids any network round trip.
    const offline = await runCommand('mvn', ['-o', '-q', ...args])
    if (offline.code !== 0 || !existsSync(outputFile)) {
      log(`Downloading the Kafka ${version} jars from Maven Central (first run only, about 75 MB)...`)
      const started = Date.now()
      let downloaded = 0
      let lastReport = started
      // -U: re-check artifacts an earlier failed attempt marked missing (Maven caches such failures).
      const online = await runCommand('mvn', ['-U', ...args], {
        onLine: (line) => {
          // Batch mode prefixes transfer lines: "[INFO] Downloaded from central: https://..."
          if (!/^(\[INFO\] )?Downloaded from /.test(line)) return
          downloaded++
          if (Date.now() - lastReport >= 2000) {
            lastReport = Date.now()
            log(`... ${downloaded} files downloaded`)
          }
        },
      })
      if (online.code !== 0 || !existsSync(outputFile))
        throw classifyMavenFailure(version, online.code, online.stdout + online.stderr)
      log(`Kafka ${version} jars ready (${downloaded} files, ${((Date.now() - started) / 1000).toFixed(1)} s).`)
    }
    const classpath = (await readFile(outputFile, 'utf8')).trim()
    await writeCache(cacheFile, version, pomHash, classpath)
    return classpath
  } finally {
    await rm(workDir, { recursive: true, force: true })
  }
}

/** Turns Maven's output into the error that says what to do. Exported for its unit test. */
export function classifyMavenFailure(version: string, code: number | null, rawOutput: string): Error {
  // Maven 3.8's console library emits colour resets even with -Dstyle.color=never.
  const output = rawOutput.replace(/\x1b\[[0-9;]*m/g, '')
  const tail = lastLines(output, 25)
  if (/Could not find artifact|Failure to find|was not found in/i.test(output)) {
    return new KafkaVersionUnavailableError(version, tail)
  }
  if (
    /Unknown host|UnknownHostException|Connection refused|Network is unreachable|timed out|Could not transfer|Failure to transfer|transfer failed|No route to host|Temporary failure in name resolution/i.test(
      output,
    )
  ) {
    return new MavenUnreachableError(version, tail)
  }
  return new MavenFailedError(version, code, tail)
}

async function checkMaven(): Promise<void> {
  try {
    const result = await runCommand('mvn', ['-v'])
    if (result.code !== 0) throw new MavenMissingError(`\`mvn -v\` exited with ${result.code}`)
  } catch (err) {
    if (err instanceof MavenMissingError) throw err
    throw new MavenMissingError((err as Error).message)
  }
}

async function readCachedClasspath(cacheFile: string, pomHash: string): Promise<string | undefined> {
  let text: string
  try {
    text = await readFile(cacheFile, 'utf8')
  } catch {
    return undefined
  }
  const [header = '', classpath = ''] = text.split('\n')
  if (!header.includes(`pom-sha256=${pomHash}`) || classpath === '') return undefined
  try {
    // Someone may have cleaned ~/.m2 since: a classpath with a missing jar is worse than a slow re-resolve.
    await Promise.all(classpath.split(':').map((jar) => access(jar)))
  } catch {
    return undefined
  }
  return classpath
}

async function writeCache(cacheFile: string, version: string, pomHash: string, classpath: string): Promise<void> {
  await mkdir(dirname(cacheFile), { recursive: true })
  // Write-then-rename: two test runs resolving at once must never read a half-written file.
  const temporary = `${cacheFile}.${process.pid}.tmp`
  await writeFile(
    temporary,
    `# Kafka ${version} classpath for the kafka-sidecar test harness; pom-sha256=${pomHash}\n${classpath}\n`,
  )
  await rename(temporary, cacheFile)
}

function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
  return join(base, 'kafka-sidecar')
}

/**
 * The pom that lists the harness's jars. Found by walking up from this module to the package root, so the
 * same code works from test/harness/*.ts (vitest) and from dist/test/harness/*.js (the `npm run kafka` CLI).
 */
export function harnessPomPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, 'test', 'harness', 'maven', 'pom.xml')
    if (existsSync(candidate)) return candidate
    const parent = dirname(dir)
    if (parent === dir) throw new Error('test/harness/maven/pom.xml not found above the harness module')
    dir = parent
  }
}
