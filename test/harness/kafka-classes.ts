import { open } from 'node:fs/promises'
import { basename } from 'node:path'
import { ToolClassNotFoundError } from './errors.js'

/**
 * Kafka moves its command-line tools between modules and packages across releases (ConsoleProducer left
 * core's `kafka.tools` for `org.apache.kafka.tools` in 4.0, for example). Rather than encode which version
 * has which name, each tool lists every main class it has been known by, newest first, and the harness
 * picks the one present in the jars of the version it runs. A future move is one line here.
 */
export const KAFKA_MAIN_CLASSES = {
  broker: ['kafka.Kafka'],
  storage: ['kafka.tools.StorageTool', 'org.apache.kafka.tools.StorageTool'],
  'console-producer': ['org.apache.kafka.tools.ConsoleProducer', 'kafka.tools.ConsoleProducer'],
  'console-consumer': ['org.apache.kafka.tools.consumer.ConsoleConsumer', 'kafka.tools.ConsoleConsumer'],
  topics: ['org.apache.kafka.tools.TopicCommand', 'kafka.admin.TopicCommand'],
  'consumer-groups': ['org.apache.kafka.tools.consumer.group.ConsumerGroupCommand', 'kafka.admin.ConsumerGroupCommand'],
  'producer-perf-test': ['org.apache.kafka.tools.ProducerPerformance'],
  'consumer-perf-test': ['org.apache.kafka.tools.ConsumerPerformance', 'kafka.tools.ConsumerPerformance'],
  configs: ['org.apache.kafka.tools.ConfigCommand', 'kafka.admin.ConfigCommand'],
  'leader-election': ['org.apache.kafka.tools.LeaderElectionCommand', 'kafka.admin.LeaderElectionCommand'],
  'reassign-partitions': [
    'org.apache.kafka.tools.reassign.ReassignPartitionsCommand',
    'kafka.admin.ReassignPartitionsCommand',
  ],
} as const satisfies Record<string, readonly string[]>

export type KafkaProgram = keyof typeof KAFKA_MAIN_CLASSES

const entriesByJar = new Map<string, Promise<ReadonlySet<string>>>()
const resolvedByClasspath = new Map<string, Map<KafkaProgram, string>>()

/** The main class of `program` in the given classpath, looked up once per classpath and cached. */
export async function resolveMainClass(classpath: string, version: string, program: KafkaProgram): Promise<string> {
  let resolved = resolvedByClasspath.get(classpath)
  if (!resolved) {
    resolved = new Map()
    resolvedByClasspath.set(classpath, resolved)
  }
  const cached = resolved.get(program)
  if (cached) return cached

  const candidates: readonly string[] = KAFKA_MAIN_CLASSES[program]
  // Only Kafka's own jars can hold its tools; skipping the ~90 dependency jars keeps this to a few ms.
  const jars = classpath.split(':').filter((jar) => /^(kafka|connect)[-_]/.test(basename(jar)))
  const listings = await Promise.all(jars.map((jar) => listJarEntries(jar)))
  for (const candidate of candidates) {
    const entry = `${candidate.replaceAll('.', '/')}.class`
    if (listings.some((entries) => entries.has(entry))) {
      resolved.set(program, candidate)
      return candidate
    }
  }
  throw new ToolClassNotFoundError(program, version, candidates)
}

/** Names of all entries of a jar, read from its zip central directory (no unzip, no JVM). */
export function listJarEntries(jar: string): Promise<ReadonlySet<string>> {
  let entries = entriesByJar.get(jar)
  if (!entries) {
    entries = readZipEntryNames(jar)
    entriesByJar.set(jar, entries)
    entries.catch(() => entriesByJar.delete(jar))
  }
  return entries
}

const EOCD_SIGNATURE = 0x06054b50
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50
const ZIP64_EOCD_SIGNATURE = 0x06064b50
const CENTRAL_HEADER_SIGNATURE = 0x02014b50

/*
 * Zip layout used here (APPNOTE 6.3.x): the end-of-central-directory record (22 bytes + comment <= 64 KiB)
 * closes the file and holds the central directory's size (offset 12, u32) and offset (16, u32). Jars with
 * more than 65535 entries put 0xFFFFFFFF there and a zip64 record, found via the 20-byte locator that
 * precedes the EOCD (zip64 EOCD offset at 8, u64; in that record: size at 40, offset at 48, u64).
 * Each central header: signature, name length at 28 (u16), extra length 30, comment length 32, name at 46.
 */
async function readZipEntryNames(jar: string): Promise<ReadonlySet<string>> {
  const file = await open(jar, 'r')
  try {
    const { size } = await file.stat()
    const tailLength = Math.min(size, 22 + 0xffff + 20)
    const tail = Buffer.alloc(tailLength)
    await file.read(tail, 0, tailLength, size - tailLength)
    let eocd = -1
    for (let i = tailLength - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD_SIGNATURE) {
        eocd = i
        break
      }
    }
    if (eocd < 0) throw new Error(`${jar} is not a zip file (no end of central directory)`)
    let directorySize = tail.readUInt32LE(eocd + 12)
    let directoryOffset = tail.readUInt32LE(eocd + 16)
    if (directoryOffset === 0xffffffff && eocd >= 20 && tail.readUInt32LE(eocd - 20) === ZIP64_LOCATOR_SIGNATURE) {
      const record = Buffer.alloc(56)
      await file.read(record, 0, 56, Number(tail.readBigUInt64LE(eocd - 20 + 8)))
      if (record.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE) throw new Error(`${jar}: broken zip64 directory`)
      directorySize = Number(record.readBigUInt64LE(40))
      directoryOffset = Number(record.readBigUInt64LE(48))
    }
    const directory = Buffer.alloc(directorySize)
    await file.read(directory, 0, directorySize, directoryOffset)
    const names = new Set<string>()
    let at = 0
    while (at + 46 <= directory.length && directory.readUInt32LE(at) === CENTRAL_HEADER_SIGNATURE) {
      const nameLength = directory.readUInt16LE(at + 28)
      const extraLength = directory.readUInt16LE(at + 30)
      const commentLength = directory.readUInt16LE(at + 32)
      names.add(directory.toString('utf8', at + 46, at + 46 + nameLength))
      at += 46 + nameLength + extraLength + commentLength
    }
    return names
  } finally {
    await file.close()
  }
}
