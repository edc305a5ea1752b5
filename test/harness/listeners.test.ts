import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, logLevel, type SASLOptions } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTopic,
  type KafkaClusterDescription,
  kcatSupportsScram,
  kcatVersions,
  runKafkaTool,
  runKcat,
  sharedClusters,
  uniqueTopicName,
} from './index.js'

const saslClusters = sharedClusters().filter((cluster) => cluster.listeners.saslPlaintext)
const sslClusters = sharedClusters().filter((cluster) => cluster.listeners.ssl)
const { librdkafka } = await kcatVersions()
const kcatScram = new Map(
  await Promise.all(
    saslClusters.map(async (cluster) => [cluster.name, await kcatSupportsScram(cluster.version)] as const),
  ),
)

/** librdkafka settings for the SASL_PLAINTEXT listener. */
function kcatSasl(mechanism: 'PLAIN' | 'SCRAM-SHA-512', user: string, password: string): string[] {
  return [
    ...['-X', 'security.protocol=SASL_PLAINTEXT', '-X', `sasl.mechanisms=${mechanism}`],
    ...['-X', `sasl.username=${user}`, '-X', `sasl.password=${password}`],
  ]
}

function user(cluster: KafkaClusterDescription, name: string): { name: string; password: string } {
  const found = cluster.sasl?.users.find((candidate) => candidate.name === name)
  if (!found) throw new Error(`${cluster.name} has no SASL user ${name}`)
  return found
}

// Auth failures surface within a second; a short metadata timeout keeps the negative cases quick.
const FAILING_METADATA_TIMEOUT_S = '4'
const AUTH_FAILED = /Authentication failed|SASL authentication error|invalid credentials/i

describe.each(saslClusters)('SASL_PLAINTEXT listener of $name (Kafka $version)', (cluster) => {
  const bootstrap = cluster.listeners.saslPlaintext!
  const alice = user(cluster, 'alice')
  const bob = user(cluster, 'bob')

  describe('PLAIN with kcat', () => {
    it('accepts the right password: metadata lists every broker at its SASL listener', async () => {
      const result = await runKcat([
        '-b',
        bootstrap,
        ...kcatSasl('PLAIN', alice.name, alice.password),
        '-L',
        '-J',
        '-m',
        '15',
      ])
      expect(result.code, result.stderr).toBe(0)
      const metadata = JSON.parse(result.stdout) as { brokers: Array<{ name: string }> }
      expect(metadata.brokers.map((broker) => broker.name).sort()).toEqual(
        cluster.nodes.map((node) => `${node.host}:${node.saslPort}`).sort(),
      )
    })

    it('rejects a wrong password and an unknown user', async () => {
      const [wrongPassword, unknownUser] = await Promise.all([
        runKcat([
          '-b',
          bootstrap,
          ...kcatSasl('PLAIN', alice.name, 'not-the-password'),
          '-L',
          '-m',
          FAILING_METADATA_TIMEOUT_S,
        ]),
        runKcat([
          '-b',
          bootstrap,
          ...kcatSasl('PLAIN', 'mallory', alice.password),
          '-L',
          '-m',
          FAILING_METADATA_TIMEOUT_S,
        ]),
      ])
      for (const result of [wrongPassword, unknownUser]) {
        expect(result.code).not.toBe(0)
        expect(result.stderr).toMatch(AUTH_FAILED)
      }
    })

    it('carries records: produced as alice, consumed as bob', async () => {
      const topic = uniqueTopicName('sasl-plain')
      const values = Array.from({ length: 20 }, (_, i) => `plain-${i}-${randomBytes(3).toString('hex')}`)
      const produced = await runKcat(
        ['-b', bootstrap, ...kcatSasl('PLAIN', alice.name, alice.password), '-t', topic, '-P', '-X', 'acks=all'],
        { input: `${values.join('\n')}\n` },
      )
      expect(produced.code, produced.stderr).toBe(0)
      const consumed = await runKcat([
        ...['-b', bootstrap, ...kcatSasl('PLAIN', bob.name, bob.password)],
        ...['-t', topic, '-C', '-o', 'beginning', '-e', '-q'],
      ])
      expect(consumed.code, consumed.stderr).toBe(0)
      expect(consumed.stdout.split('\n').filter(Boolean).sort()).toEqual([...values].sort())
    })
  })

  describe('SCRAM-SHA-512 with kcat', () => {
    // See kcatSupportsScram: an old librdkafka fails SCRAM against Kafka 4 whatever the broker is configured with.
    const supported = kcatScram.get(cluster.name) === true

    if (supported) {
      it(`accepts the right password, rejects a wrong one (librdkafka ${librdkafka})`, async () => {
        const [right, wrong] = await Promise.all([
          runKcat(['-b', bootstrap, ...kcatSasl('SCRAM-SHA-512', alice.name, alice.password), '-L', '-J', '-m', '15']),
          runKcat([
            '-b',
            bootstrap,
            ...kcatSasl('SCRAM-SHA-512', alice.name, 'nope'),
            '-L',
            '-m',
            FAILING_METADATA_TIMEOUT_S,
          ]),
        ])
        expect(right.code, right.stderr).toBe(0)
        expect((JSON.parse(right.stdout) as { brokers: unknown[] }).brokers).toHaveLength(cluster.nodes.length)
        expect(wrong.code).not.toBe(0)
        expect(wrong.stderr).toMatch(AUTH_FAILED)
      })
    } else {
      // Not skipped: pin the known client bug, so the day a fixed librdkafka is installed this test says so.
      it(`fails even with the right password: librdkafka ${librdkafka} < 2.6.1 cannot do SCRAM with Kafka 4 (librdkafka#4895)`, async () => {
        const right = await runKcat([
          '-b',
          bootstrap,
          ...kcatSasl('SCRAM-SHA-512', alice.name, alice.password),
          '-L',
          '-m',
          FAILING_METADATA_TIMEOUT_S,
        ])
        expect(right.code).not.toBe(0)
        expect(right.stderr).toMatch(AUTH_FAILED)
      })
    }
  })

  describe('SCRAM-SHA-512 with kafkajs', () => {
    const client = (sasl: SASLOptions, retries?: number): Kafka =>
      new Kafka({
        brokers: bootstrap.split(','),
        sasl,
        logLevel: logLevel.NOTHING,
        ...(retries !== undefined && { retry: { retries } }),
      })

    it('produces and consumes with the right password', async () => {
      const kafka = client({ mechanism: 'scram-sha-512', username: alice.name, password: alice.password })
      const topic = uniqueTopicName('sasl-scram')
      const values = Array.from({ length: 10 }, (_, i) => `scram-${i}`)
      await createTopic(cluster, topic)
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
      await producer.connect()
      try {
        await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) })
      } finally {
        await producer.disconnect()
      }
      const consumed = await runKcat([
        ...['-b', bootstrap, ...kcatSasl('PLAIN', bob.name, bob.password)],
        ...['-t', topic, '-C', '-o', 'beginning', '-e', '-q'],
      ])
      expect(consumed.stdout.split('\n').filter(Boolean).sort()).toEqual([...values].sort())
    })

    it('rejects a wrong password', async () => {
      const admin = client({ mechanism: 'scram-sha-512', username: alice.name, password: 'nope' }, 0).admin()
      await expect(admin.connect()).rejects.toMatchObject({ name: 'KafkaJSSASLAuthenticationError' })
      await admin.disconnect()
    })
  })

  describe('SCRAM-SHA-512 with the Java client', () => {
    let dir: string

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'ksc-scram-'))
    })

    afterAll(async () => {
      await rm(dir, { recursive: true, force: true })
    })

    const commandConfig = async (password: string): Promise<string> => {
      const file = join(dir, `${password}.properties`)
      await writeFile(
        file,
        [
          'security.protocol=SASL_PLAINTEXT',
          'sasl.mechanism=SCRAM-SHA-512',
          `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${alice.name}" password="${password}";`,
        ].join('\n'),
      )
      return file
    }

    it('accepts the right password and rejects a wrong one (kafka-topics --command-config)', async () => {
      const [right, wrong] = await Promise.all(
        [alice.password, 'nope'].map(async (password) =>
          runKafkaTool(cluster, 'topics', [
            '--bootstrap-server',
            bootstrap,
            '--command-config',
            await commandConfig(password),
            '--list',
          ]),
        ),
      )
      expect(right?.code, right?.stderr).toBe(0)
      expect(wrong?.code).not.toBe(0)
      expect(wrong?.stderr).toMatch(AUTH_FAILED)
    })
  })
})

describe.each(sslClusters)('SSL listener of $name (Kafka $version)', (cluster) => {
  const bootstrap = cluster.listeners.ssl!
  const tls = cluster.ssl!
  const withCa = ['-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${tls.caFile}`]

  it('serves TLS with the harness CA: metadata and a record round trip', async () => {
    const metadata = await runKcat(['-b', bootstrap, ...withCa, '-L', '-J', '-m', '15'])
    expect(metadata.code, metadata.stderr).toBe(0)
    expect((JSON.parse(metadata.stdout) as { brokers: unknown[] }).brokers).toHaveLength(cluster.nodes.length)
    const topic = uniqueTopicName('ssl')
    const values = ['tls-1', 'tls-2', 'tls-3']
    const produced = await runKcat(['-b', bootstrap, ...withCa, '-t', topic, '-P'], { input: `${values.join('\n')}\n` })
    expect(produced.code, produced.stderr).toBe(0)
    const consumed = await runKcat(['-b', bootstrap, ...withCa, '-t', topic, '-C', '-o', 'beginning', '-e', '-q'])
    expect(consumed.stdout.split('\n').filter(Boolean).sort()).toEqual(values)
  })

  it('presents a certificate only the harness CA vouches for', async () => {
    const result = await runKcat([
      '-b',
      bootstrap,
      '-X',
      'security.protocol=SSL',
      '-L',
      '-m',
      FAILING_METADATA_TIMEOUT_S,
    ])
    expect(result.code).not.toBe(0)
    expect(result.stderr).toMatch(/certificate verify failed|SSL handshake failed/i)
  })

  it('accepts a client certificate from the harness CA (client auth requested)', async () => {
    const result = await runKcat([
      ...['-b', bootstrap, ...withCa],
      ...['-X', `ssl.certificate.location=${tls.clientCertFile!}`, '-X', `ssl.key.location=${tls.clientKeyFile!}`],
      ...['-L', '-m', '15'],
    ])
    expect(result.code, result.stderr).toBe(0)
  })
})
