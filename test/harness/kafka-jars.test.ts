import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sharedClusters } from './index.js'
import { KAFKA_MAIN_CLASSES, type KafkaProgram, listJarEntries, resolveMainClass } from './kafka-classes.js'
import { classifyMavenFailure, DEFAULT_KAFKA_VERSION, resolveKafkaClasspath } from './kafka-jars.js'

const versions = [...new Set([DEFAULT_KAFKA_VERSION, ...sharedClusters().map((cluster) => cluster.version)])]

describe('resolveKafkaClasspath', () => {
  let cacheDir: string

  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'ksc-cp-cache-'))
  })

  afterAll(async () => {
    await rm(cacheDir, { recursive: true, force: true })
  })

  it.each(
    versions,
  )('resolves Kafka %s to existing jars with exactly one slf4j binding, and caches it', async (version) => {
    const classpath = await resolveKafkaClasspath(version, { cacheDir })
    const jars = classpath.split(':')
    await Promise.all(jars.map((jar) => access(jar)))
    const names = jars.map((jar) => basename(jar))
    for (const expected of [
      `kafka_2.13-${version}.jar`,
      `kafka-tools-${version}.jar`,
      `kafka-clients-${version}.jar`,
    ]) {
      expect(names).toContain(expected)
    }
    const bindings = names.filter((name) =>
      /^(slf4j-simple|slf4j-reload4j|log4j-slf4j2?-impl|logback-classic)-/.test(name),
    )
    expect(bindings).toEqual([expect.stringMatching(/^slf4j-simple-/)])

    const cache = await readFile(join(cacheDir, `kafka-${version}.classpath`), 'utf8')
    const [header, cached] = cache.split('\n')
    expect(header).toMatch(/pom-sha256=[0-9a-f]{64}/)
    expect(cached).toBe(classpath)
  })

  it('re-resolves when a cached jar has disappeared', async () => {
    const cacheFile = join(cacheDir, `kafka-${DEFAULT_KAFKA_VERSION}.classpath`)
    const good = await resolveKafkaClasspath(DEFAULT_KAFKA_VERSION, { cacheDir })
    const [header] = (await readFile(cacheFile, 'utf8')).split('\n')
    await writeFile(cacheFile, `${header}\n/nonexistent/kafka_2.13-${DEFAULT_KAFKA_VERSION}.jar:${good}\n`)
    expect(await resolveKafkaClasspath(DEFAULT_KAFKA_VERSION, { cacheDir })).toBe(good)
    expect((await readFile(cacheFile, 'utf8')).split('\n')[1]).toBe(good)
  })

  it('rejects a malformed version before running anything', async () => {
    await expect(resolveKafkaClasspath('4.x; rm -rf /', { cacheDir })).rejects.toMatchObject({
      code: 'KSC_ERR_HARNESS_CONFIG_INVALID',
    })
  })

  it('tells an unreachable Maven Central from a version that does not exist', () => {
    const unreachable = classifyMavenFailure(
      '4.3.1',
      1,
      '[ERROR] Failed to execute goal on project x: Could not resolve dependencies: Could not transfer artifact ' +
        'org.apache.kafka:kafka_2.13:pom:4.3.1 from/to central (https://repo.maven.apache.org/maven2): ' +
        'Unknown host repo.maven.apache.org',
    )
    expect(unreachable).toMatchObject({ code: 'KSC_ERR_HARNESS_MAVEN_UNREACHABLE' })
    expect(unreachable.message).toContain('Unknown host repo.maven.apache.org')

    const missing = classifyMavenFailure(
      '4.4.0',
      1,
      '[ERROR] Failed to execute goal on project x: Could not resolve dependencies for project x: ' +
        'Could not find artifact org.apache.kafka:kafka-tools:jar:4.4.0 in central (https://repo.maven.apache.org/maven2)',
    )
    expect(missing).toMatchObject({ code: 'KSC_ERR_HARNESS_KAFKA_VERSION_UNAVAILABLE' })
    expect(classifyMavenFailure('4.3.1', 1, '[ERROR] something else')).toMatchObject({
      code: 'KSC_ERR_HARNESS_MAVEN_FAILED',
    })
  })
})

describe.each(versions)('main classes of Kafka %s', (version) => {
  let classpath: string

  beforeAll(async () => {
    classpath = await resolveKafkaClasspath(version)
  })

  it.each(Object.keys(KAFKA_MAIN_CLASSES) as KafkaProgram[])('finds %s in the jars', async (program) => {
    const mainClass = await resolveMainClass(classpath, version, program)
    expect(KAFKA_MAIN_CLASSES[program] as readonly string[]).toContain(mainClass)
    const jarsWithIt = await Promise.all(
      classpath
        .split(':')
        .map(async (jar) => (await listJarEntries(jar)).has(`${mainClass.replaceAll('.', '/')}.class`)),
    )
    expect(jarsWithIt.filter(Boolean)).toHaveLength(1)
  })

  it("ships Kafka's message specs inside kafka-clients (what the codec generator reads)", async () => {
    const clients = classpath.split(':').find((jar) => basename(jar) === `kafka-clients-${version}.jar`)!
    const entries = await listJarEntries(clients)
    expect(entries.has('common/message/ProduceRequest.json')).toBe(true)
    expect(entries.has('common/message/MetadataResponse.json')).toBe(true)
  })
})
