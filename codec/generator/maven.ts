import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

/** Jars from the local Maven repository (~/.m2), for the generator and the Java interop tests. */

/** A jar from the local Maven repository, downloading it with Maven (`mvn dependency:get`) on first use. */
export function resolveMavenJar(group: string, artifact: string, version: string): string {
  const jar = join(homedir(), '.m2', 'repository', ...group.split('.'), artifact, version, `${artifact}-${version}.jar`)
  if (existsSync(jar)) return jar
  process.stderr.write(`Fetching ${group}:${artifact}:${version} from Maven Central...\n`)
  try {
    execFileSync(
      'mvn',
      ['-q', '-B', 'dependency:get', `-Dartifact=${group}:${artifact}:${version}`, '-Dtransitive=false'],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    )
  } catch (err) {
    throw new Error(
      `could not fetch ${artifact} ${version} with Maven (is 'mvn' installed and Maven Central reachable?): ${(err as Error).message}`,
    )
  }
  if (!existsSync(jar)) throw new Error(`Maven finished but ${jar} does not exist`)
  return jar
}

/**
 * Kafka's Errors and request classes create slf4j loggers when they load, so Java run against kafka-clients
 * alone fails; any 1.7/2.x slf4j-api will do (without a binding slf4j falls back to its no-op logger). 2.0.17 is
 * the one the test harness already resolves (test/harness/maven/pom.xml).
 */
export const SLF4J_API_VERSION = '2.0.17'

export function slf4jApiJar(): string {
  return resolveMavenJar('org.slf4j', 'slf4j-api', SLF4J_API_VERSION)
}

/** The java binary: $JAVA_HOME/bin/java when JAVA_HOME is set, else `java` from PATH. */
export function javaCommand(): string {
  const home = process.env.JAVA_HOME
  return home ? join(home, 'bin', 'java') : 'java'
}
