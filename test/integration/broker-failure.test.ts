import { randomBytes } from 'node:crypto'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KafkaCluster, spawnKafkaTool, waitFor, within } from '../harness/index.js'
import { recordingServerFactory } from '../support/recording-server.js'
import { startTestSidecar, type TestSidecar } from '../support/test-sidecar.js'

/**
 * A broker dies (SIGKILL) and comes back while clients produce with acks=all through the sidecar. Its own
 * 3-node cluster, so the shared ones are not disturbed.
 */
describe('a broker is killed and restarted under acks=all load', () => {
  let cluster: KafkaCluster
  let sc: TestSidecar
  const recorder = recordingServerFactory()

  beforeAll(async () => {
    cluster = await KafkaCluster.start({ nodes: 3, name: 'faults' })
    sc = await startTestSidecar(cluster.describe().bootstrapServers, {}, { serverFactory: recorder.factory })
  }, 180_000)
  afterAll(async () => {
    await sc?.stop()
    await cluster?.stop()
  })

  // Generous: on two cores shared with the rest of the suite, a broker restart alone can take tens of seconds; every
  // step has a bound of its own below, which names it when it is exceeded.
  it('clients recover and no acknowledged record is lost', { timeout: 600_000 }, async () => {
    const t0 = Date.now()
    // Phase timings go to the log, so a slow run says which phase was slow.
    const phase = (name: string) => console.log(`fault test: ${name} at ${((Date.now() - t0) / 1000).toFixed(1)} s`)
    const kafka = new Kafka({
      clientId: 'fault-producer',
      brokers: [sc.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2000 },
    })
    const topic = `faults-${randomBytes(4).toString('hex')}`
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({
      topics: [
        { topic, numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] },
      ],
      waitForLeaders: true,
    })
    await admin.disconnect()

    // kafkajs: one message at a time, remembering exactly which ones the broker acknowledged.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    const acked: string[] = []
    let failures = 0
    let stop = false
    const kafkajsLoad = (async () => {
      for (let i = 0; !stop; i++) {
        const value = `js-${i}`
        try {
          await producer.send({ topic, acks: -1, messages: [{ key: String(i % 11), value }] })
          acked.push(value)
        } catch {
          failures++ // not acknowledged: may or may not be stored, never counted as lost
        }
      }
    })()

    // The Java console producer (acks=all), fed a line every 20 ms, retrying as a producer does by default: the
    // tool's own defaults are a 1.5 s request timeout and 3 retries (ConsoleProducer --request-timeout-ms,
    // --message-send-max-retries), under which an acks=all request waiting for the dead broker to leave the ISR
    // fails the record (seen here: "Disconnected from node 3 due to timeout"). With these, a line is acknowledged
    // unless the tool reports it failed, which the test then refuses below.
    const java = await spawnKafkaTool(cluster.describe(), 'console-producer', [
      '--bootstrap-server',
      sc.bootstrap,
      '--topic',
      topic,
      '--request-timeout-ms',
      '30000',
      '--message-send-max-retries',
      '2147483647',
      '--producer-property',
      'acks=all',
      '--producer-property',
      'delivery.timeout.ms=120000',
    ])
    const javaLines: string[] = []
    const feeder = setInterval(() => {
      const line = `java-${javaLines.length}`
      javaLines.push(line)
      java.stdin.write(`${line}\n`)
    }, 20)

    await waitFor('load before the failure', () => acked.length >= 50, { timeoutMs: 60_000 })
    phase('load running, killing node 2')
    await cluster.killNode(2)
    const ackedAtKill = acked.length
    await new Promise((r) => setTimeout(r, 5000))
    await cluster.startNode(2)
    phase('node 2 restarted')
    await waitFor('progress after the restart', () => acked.length >= ackedAtKill + 100, { timeoutMs: 120_000 })
    phase('clients made progress after the restart')

    stop = true
    clearInterval(feeder)
    java.stdin.end()
    // Each step bounded, so a hang fails with its name (and the producer's own words) instead of the test's timeout.
    const javaSaid = () => `; console producer stderr (${java.output.stderr.bytes} bytes): ${java.output.stderr.text()}`
    const javaExit = await within('the console producer to flush and exit', java.exited, 150_000).catch((err) => {
      throw new Error(`${(err as Error).message}${javaSaid()}`)
    })
    phase(`console producer exited (code ${javaExit.code}, ${java.output.stderr.bytes} bytes on stderr)`)
    await within('the kafkajs producer to finish its last send', kafkajsLoad, 90_000)
    await within('the kafkajs producer to disconnect', producer.disconnect(), 30_000)
    phase(`kafkajs producer stopped (${acked.length} acknowledged, ${failures} failed sends)`)
    expect(javaExit.code, javaSaid()).toBe(0)
    // Every line acknowledged: the tool logs each record it gave up on (ErrorLoggingCallback).
    expect(java.output.stderr.text(), javaSaid()).not.toContain('Error when sending message')

    // Everything acknowledged is there, read back through the sidecar.
    const consumer = kafka.consumer({ groupId: `verify-${randomBytes(4).toString('hex')}` })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const seen = new Set<string>()
    const wanted = [...acked, ...javaLines]
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.add(message.value!.toString())
      },
    })
    phase('verifying')
    await waitFor('every acknowledged record read back', () => wanted.every((v) => seen.has(v)), {
      timeoutMs: 120_000,
    }).catch(() => undefined)
    await within('the verifying consumer to disconnect', consumer.disconnect(), 30_000)
    const lost = wanted.filter((v) => !seen.has(v))
    expect(lost, `lost ${lost.length}: ${lost.slice(0, 10).join(', ')}`).toEqual([])
    expect(acked.length).toBeGreaterThan(ackedAtKill)
    // Leadership moved twice under a Java producer (Produce v13): its NOT_LEADER answers carry KIP-951
    // NodeEndpoints, and none of them may reach a client with the real broker address.
    const upstreamHost = cluster.describe().nodes[0]!.host
    expect(Buffer.concat(recorder.sent).includes(Buffer.from(upstreamHost))).toBe(false)
    console.log(
      `fault test: ${acked.length} kafkajs acks (${failures} failed sends), ${javaLines.length} Java lines, 0 lost`,
    )
  })
})
