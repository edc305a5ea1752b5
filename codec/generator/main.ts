/**
 * `npm run codegen`: regenerates codec/messages/generated/ from Apache Kafka's own message specs.
 *
 * The specs (common/message/*.json) ship inside org.apache.kafka:kafka-clients on Maven Central; the jar is
 * fetched with Maven into the local repository (~/.m2) and read directly, so the output depends only on the
 * Kafka version and is reproduced byte for byte. Kafka's error table (org.apache.kafka.common.protocol.Errors:
 * codes, names, retriable, default messages) is compiled Java, not a spec: java/PrintErrors.java prints it,
 * run with `java` against the same jar, so codegen needs Java 11+. Users never run this: the output is committed.
 *
 *   node dist/codec/generator/main.js [--kafka-version 4.4.0] [--jar path/to/kafka-clients.jar] [--out dir] [--check]
 *
 * --check compares instead of writing and exits 1 if the committed output is stale (CI uses it).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type ErrorRow, emitErrorCodes, parseErrorTable } from './emit-errors.js'
import { banner, emitApiTable, emitIndex, emitMessageModule, moduleName } from './emit-module.js'
import { emitSchema } from './emit-schema.js'
import { javaCommand, resolveMavenJar, slf4jApiJar } from './maven.js'
import { type MessageDef, parseJsonWithComments, resolveSpec } from './spec.js'
import { readZipEntries } from './zip.js'

/** The newest Kafka release whose kafka-clients jar is on Maven Central (2026-11: 4.4.0). */
export const DEFAULT_SPEC_VERSION = '4.4.0'

/** The repository root: the nearest directory above this file holding package.json (works from dist/ too). */
function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('cannot find the repository root (no package.json above the generator)')
    dir = up
  }
  return dir
}

const repoRoot = findRepoRoot()

function parseArgs(argv: string[]): { version: string; jar?: string; out: string; check: boolean } {
  const args = {
    version: DEFAULT_SPEC_VERSION,
    out: join(repoRoot, 'codec', 'messages', 'generated'),
    check: false,
  } as {
    version: string
    jar?: string
    out: string
    check: boolean
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return v
    }
    if (a === '--kafka-version') args.version = value()
    else if (a === '--jar') args.jar = value()
    else if (a === '--out') args.out = resolve(value())
    else if (a === '--check') args.check = true
    else throw new Error(`unknown option ${a}; usage: main.js [--kafka-version V] [--jar FILE] [--out DIR] [--check]`)
  }
  return args
}

function resolveClientsJar(version: string): string {
  return resolveMavenJar('org.apache.kafka', 'kafka-clients', version)
}

/** Kafka's error table, printed by java/PrintErrors.java running against the kafka-clients jar. */
function readErrorTable(clientsJar: string): ErrorRow[] {
  const java = javaCommand()
  const source = join(repoRoot, 'codec', 'generator', 'java', 'PrintErrors.java')
  const classpath = [clientsJar, slf4jApiJar()].join(delimiter)
  let out: string
  try {
    out = execFileSync(java, ['-cp', classpath, source], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    throw new Error(
      `could not run ${source} with '${java}' (codegen needs Java 11+ to read Kafka's error table from the jar): ${(err as Error).message}`,
    )
  }
  return parseErrorTable(out)
}

export function loadSpecs(jar: string): MessageDef[] {
  const entries = readZipEntries(jar, (name) => /^common\/message\/[A-Za-z0-9]+\.json$/.test(name))
  if (entries.size === 0) throw new Error(`${jar} contains no common/message/*.json specs`)
  return [...entries.keys()]
    .sort()
    .map((name) =>
      resolveSpec(parseJsonWithComments(entries.get(name)!.toString('utf8')) as Parameters<typeof resolveSpec>[0]),
    )
}

function main(): void {
  const args = parseArgs(process.argv.slice(2))
  const jar = args.jar ?? resolveClientsJar(args.version)
  const specs = loadSpecs(jar)
  const files = new Map<string, string>()
  for (const spec of specs) files.set(`${moduleName(spec.name)}.ts`, emitMessageModule(spec, args.version))
  files.set('apis.ts', emitApiTable(specs, args.version))
  files.set('schema.ts', emitSchema(specs, banner(args.version)))
  files.set('error-codes.ts', emitErrorCodes(readErrorTable(jar), args.version))
  files.set('index.ts', emitIndex(specs, args.version))

  if (args.check) {
    const stale: string[] = []
    for (const [name, text] of files) {
      const path = join(args.out, name)
      if (!existsSync(path) || readFileSync(path, 'utf8') !== text) stale.push(name)
    }
    const extra = existsSync(args.out) ? readdirSync(args.out).filter((n) => !files.has(n)) : []
    if (stale.length > 0 || extra.length > 0) {
      process.stderr.write(
        `codec/messages/generated is stale (${stale.length} differ, ${extra.length} extra: ${[...stale, ...extra].slice(0, 5).join(', ')}); run npm run codegen\n`,
      )
      process.exit(1)
    }
    process.stdout.write(`codec/messages/generated matches Kafka ${args.version} specs (${files.size} files)\n`)
    return
  }

  rmSync(args.out, { recursive: true, force: true })
  mkdirSync(args.out, { recursive: true })
  for (const [name, text] of files) writeFileSync(join(args.out, name), text)
  const apis = specs.filter((s) => s.type === 'request').length
  process.stdout.write(
    `wrote ${files.size} files for ${specs.length} specs (${apis} APIs) from ${jar} into ${args.out}\n`,
  )
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main()
