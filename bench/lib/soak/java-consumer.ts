/**
 * A Java consumer in a KIP-848 consumer group (group.protocol=consumer: ConsumerGroupHeartbeat instead of
 * JoinGroup/SyncGroup, assignment by the broker), through the sidecar: Kafka's console consumer, which commits
 * with the client's auto-commit (every 5 s and on close). It prints only keys; the soak counts the lines.
 */
import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { type KafkaToolProcess, spawnKafkaTool } from '../../../test/harness/kafka-tools.js'

export interface JavaConsumerOptions {
  jars: { classpath: string; version: string }
  bootstrap: string
  topic: string
  groupId: string
  /** 'consumer' (KIP-848) or 'classic'. */
  protocol: 'consumer' | 'classic'
  /** Its stderr goes to a file here. */
  logDir: string
  log: (message: string) => void
}

export class JavaGroupConsumer {
  readonly #o: JavaConsumerOptions
  #tool: KafkaToolProcess | undefined
  #stopping = false
  consumed = 0
  /** Times the JVM exited on its own and was started again. */
  restarts = 0

  constructor(options: JavaConsumerOptions) {
    this.#o = options
  }

  get name(): string {
    return 'java console consumer'
  }

  get protocol(): 'consumer' | 'classic' {
    return this.#o.protocol
  }

  get groupId(): string {
    return this.#o.groupId
  }

  async start(): Promise<void> {
    const o = this.#o
    const tool = await spawnKafkaTool(o.jars, 'console-consumer', [
      ...['--bootstrap-server', o.bootstrap, '--topic', o.topic, '--group', o.groupId, '--from-beginning'],
      ...['--consumer-property', `group.protocol=${o.protocol}`, '--consumer-property', 'client.id=soak-java-consumer'],
      ...['--property', 'print.key=true', '--property', 'print.value=false'],
    ])
    this.#tool = tool
    tool.stdin.end()
    tool.stderr.pipe(createWriteStream(join(o.logDir, `consumer-${o.protocol}.log`), { flags: 'a' }))
    createInterface({ input: tool.stdout }).on('line', () => {
      this.consumed++
    })
    void tool.exited.then(async ({ code }) => {
      if (this.#stopping || this.#tool !== tool) return
      this.restarts++
      o.log(`${this.name} consumer exited on its own (code ${code}); starting it again`)
      await sleep(2_000)
      if (!this.#stopping) await this.start().catch((err: Error) => o.log(`consumer restart failed: ${err.message}`))
    })
  }

  async stop(): Promise<void> {
    this.#stopping = true
    // SIGTERM: the console consumer closes its KafkaConsumer, which commits what it has read.
    await this.#tool?.stop(30_000)
  }
}
