import { randomBytes } from 'node:crypto'
import { closeSync, openSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { probeMetadata } from './broker-probe.js'
import {
  BrokerExitedError,
  BrokerStartTimeoutError,
  ClusterStoppedError,
  HarnessConfigError,
  lastLines,
  NodeStateError,
  PortInUseError,
  StorageFormatError,
  UnknownNodeError,
} from './errors.js'
import { allocatePorts } from './free-port.js'
import { resolveMainClass } from './kafka-classes.js'
import { DEFAULT_KAFKA_VERSION, javaCommand, resolveKafkaClasspath } from './kafka-jars.js'
import { fileSize, readLogSince, summarizeLog } from './log-tail.js'
import { runCommand } from './run-command.js'
import { generateTestTls } from './tls.js'
import { WaitTimeoutError, waitFor } from './wait-for.js'
import { spawnWatched, type WatchedProcess } from './watchdog.js'

export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'

export interface SaslUser {
  name: string
  password: string
}

export interface SaslListenerOptions {
  /** Accounts for every enabled mechanism: PLAIN via the listener's JAAS config, SCRAM via credentials at format time. */
  users: readonly SaslUser[]
  /** Default: PLAIN and SCRAM-SHA-512. */
  mechanisms?: readonly SaslMechanism[]
}

/**
 * A second PLAINTEXT listener (RELAYED) that each node binds on a free port of its own (KafkaNodeDescription.
 * relayedPort) but advertises at `advertisedHost:advertisedPorts[i]`: where a plain TCP relay in front of that
 * port listens. A client that bootstraps through the relay is then told by Metadata to connect through it too,
 * which is what lets a byte relay with no Kafka knowledge (bench/passthrough.ts --relay) carry real clients.
 */
export interface RelayedListenerOptions {
  advertisedHost: string
  /** One per node, in node order. */
  advertisedPorts: readonly number[]
}

export type SslClientAuth = 'none' | 'requested' | 'required'

/**
 * The SSL listener's certificates: PEM files of your own, or `{ generate: true }` for a throwaway CA with a
 * broker certificate (SANs: advertisedHost, 127.0.0.1, localhost) and a client certificate, made with openssl
 * inside the cluster's directory (so they vanish with it). Client auth defaults to none.
 */
export type SslListenerOptions =
  | {
      /** PEM certificate (chain) of the brokers; must name advertisedHost (IP SAN for an address). */
      certFile: string
      /** Unencrypted PKCS#8 PEM private key of that certificate. */
      keyFile: string
      /** PEM CA bundle the brokers trust for client certificates. */
      caFile: string
      clientAuth?: SslClientAuth
    }
  | { generate: true; clientAuth?: SslClientAuth }

export interface KafkaClusterOptions {
  /** Shown in logs and errors. Default: kafka-<version>-<n>n. */
  name?: string
  /** Number of combined broker+controller nodes (ids 1..n, static voter set). Default 1. */
  nodes?: number
  /** Kafka release whose jars run the cluster. Default DEFAULT_KAFKA_VERSION. */
  version?: string
  /**
   * Address the brokers bind and advertise. Default 127.0.0.2: a loopback address that clients of the
   * sidecar are NOT configured with, so a broker address leaking through the proxy is detectable.
   */
  advertisedHost?: string
  /**
   * Directory for the cluster's config, data and logs; kept on stop (and reused: already formatted storage is
   * not formatted again). Default: a fresh temporary directory, removed on stop.
   */
  dataDir?: string
  /** Extra broker properties, applied to every node after the harness defaults (they win). */
  brokerProperties?: Readonly<Record<string, string | number | boolean>>
  /** Listeners besides PLAINTEXT: SASL_PLAINTEXT (PLAIN, SCRAM), SSL (PEM files) and a relayed PLAINTEXT one. */
  listeners?: { sasl?: SaslListenerOptions; ssl?: SslListenerOptions; relayed?: RelayedListenerOptions }
  /** Fixed PLAINTEXT ports, one per node. Default: free ports chosen by the harness. */
  brokerPorts?: readonly number[]
  /** How long start() and startNode() wait for the brokers to serve requests. Default 120 s. */
  startTimeoutMs?: number
  /** JVM options of each broker; default: small heap, C1 only, serial GC (fast start-up on few cores). */
  jvmOptions?: readonly string[]
  /** Progress messages. Default: none. */
  log?: (message: string) => void
}

export interface KafkaNodeDescription {
  id: number
  host: string
  /** PLAINTEXT port. */
  port: number
  controllerPort: number
  saslPort?: number
  sslPort?: number
  /** Where the RELAYED listener binds (on `host`), when the cluster has one. */
  relayedPort?: number
  logFile: string
  dir: string
  /** Pid of the broker JVM while it runs. */
  pid?: number
  running: boolean
}

/** Plain data describing a running cluster: serialisable, handed to test workers by globalSetup. */
export interface KafkaClusterDescription {
  name: string
  harness: 'maven' | 'testcontainers'
  version: string
  /** Classpath of this version's broker and tools; pass the description to runKafkaTool. */
  classpath: string
  bootstrapServers: string
  listeners: { plaintext: string; saslPlaintext?: string; ssl?: string }
  sasl?: { users: SaslUser[]; mechanisms: SaslMechanism[] }
  /** The CA clients must trust; with generated material also a client certificate from the same CA. */
  ssl?: { caFile: string; clientAuth: SslClientAuth; clientCertFile?: string; clientKeyFile?: string }
  nodes: KafkaNodeDescription[]
  /** Milliseconds from start() to every broker serving Metadata with all peers. */
  startupMs: number
}

/** What the control endpoint and shared-cluster plumbing need from any cluster (Maven JVMs or a container). */
export interface ManagedCluster {
  readonly name: string
  describe(): KafkaClusterDescription
  stopNode(id: number): Promise<void>
  killNode(id: number): Promise<void>
  startNode(id: number): Promise<void>
  restartNode(id: number): Promise<void>
  stop(): Promise<void>
}

const DEFAULT_JVM_OPTIONS = [
  '-Xms128m',
  '-Xmx512m',
  // Brokers in tests live for minutes: the C1-only JIT and the serial collector cut start-up CPU, which is
  // what limits a run with several JVMs on two cores.
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
  '-XX:-UsePerfData',
  '-XX:+ExitOnOutOfMemoryError',
  '-Djava.awt.headless=true',
]

const LOG_OPTIONS = [
  '-Dorg.slf4j.simpleLogger.defaultLogLevel=info',
  '-Dorg.slf4j.simpleLogger.showDateTime=true',
  '-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS',
]

const STORAGE_TOOL_JVM_OPTIONS = ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-XX:-UsePerfData']

/** Time a broker gets for a graceful (controlled) shutdown before SIGKILL. */
const STOP_TIMEOUT_MS = 30_000
/** Grace the watchdog gives a broker when the harness process has died. */
const WATCHDOG_GRACE_MS = 10_000
const CONTROLLER_HOST = '127.0.0.1'
const SASL_LISTENER = 'SASL_PLAINTEXT'
const SSL_LISTENER = 'SSL'
const RELAYED_LISTENER = 'RELAYED'
const TOKEN = /^[A-Za-z0-9._@-]+$/
const PASSWORD = /^[^\s"\\,=[\]]+$/

type NodeState = 'stopped' | 'starting' | 'running' | 'stopping'

interface NodeRuntime {
  id: number
  dir: string
  logFile: string
  propertiesFile: string
  port: number
  controllerPort: number
  saslPort: number | undefined
  sslPort: number | undefined
  relayedPort: number | undefined
  state: NodeState
  process: WatchedProcess | undefined
  pid: number | undefined
  /** Size of the log when the current JVM started: errors quote only this run's lines. */
  logOffset: number
}

interface PemFiles {
  certFile: string
  keyFile: string
  caFile: string
}

interface TlsRuntime {
  /** Key and certificate chain in one PEM file, as Kafka's PEM keystore wants them. */
  keystore: string
  caFile: string
  /** What clients get to see in the description. */
  forClients: { caFile: string; clientCertFile?: string; clientKeyFile?: string }
}

interface Settings {
  name: string
  nodeCount: number
  version: string
  host: string
  dataDir: string | undefined
  brokerProperties: Readonly<Record<string, string | number | boolean>>
  sasl: { users: SaslUser[]; mechanisms: SaslMechanism[] } | undefined
  /** files undefined: generate. */
  ssl: { clientAuth: SslClientAuth; files: PemFiles | undefined } | undefined
  relayed: RelayedListenerOptions | undefined
  brokerPorts: readonly number[] | undefined
  startTimeoutMs: number
  jvmOptions: readonly string[]
  log: (message: string) => void
}

/**
 * A real Apache Kafka cluster in KRaft mode, run from the Maven jars: n combined broker+controller JVMs
 * with a static voter set, each under a watchdog that kills it if this process dies. See KafkaClusterOptions.
 */
export class KafkaCluster implements ManagedCluster {
  readonly name: string
  readonly version: string
  readonly classpath: string
  readonly advertisedHost: string
  readonly rootDir: string
  readonly #settings: Settings
  readonly #ownsRootDir: boolean
  readonly #nodes: NodeRuntime[] = []
  #operations: Promise<unknown> = Promise.resolve()
  #stopped = false
  #startupMs = 0
  #tls: TlsRuntime | undefined

  private constructor(settings: Settings, classpath: string, rootDir: string, ownsRootDir: boolean) {
    this.#settings = settings
    this.name = settings.name
    this.version = settings.version
    this.classpath = classpath
    this.advertisedHost = settings.host
    this.rootDir = rootDir
    this.#ownsRootDir = ownsRootDir
  }

  /** Starts the cluster and resolves once every broker answers Metadata listing all n brokers. */
  static async start(options: KafkaClusterOptions = {}): Promise<KafkaCluster> {
    const settings = normalizeOptions(options)
    const started = Date.now()
    const classpath = await resolveKafkaClasspath(settings.version)
    for (let attempt = 1; ; attempt++) {
      const ownsRootDir = settings.dataDir === undefined
      const rootDir = settings.dataDir ?? (await mkdtemp(join(tmpdir(), 'ksc-kafka-')))
      const cluster = new KafkaCluster(settings, classpath, rootDir, ownsRootDir)
      try {
        await cluster.#boot()
        cluster.#startupMs = Date.now() - started
        settings.log(
          `${settings.name}: Kafka ${settings.version}, ${settings.nodeCount} node(s) at ${cluster.bootstrapServers} ` +
            `ready in ${(cluster.#startupMs / 1000).toFixed(1)} s`,
        )
        return cluster
      } catch (err) {
        await cluster.#shutdown(false)
        // Ports the harness picked can be taken by someone else before the JVM binds them: one retry with new ones.
        if (err instanceof PortInUseError && settings.brokerPorts === undefined && attempt === 1) {
          settings.log(`${settings.name}: ${err.address ?? 'a port'} was taken before the broker bound it; retrying`)
          continue
        }
        throw err
      }
    }
  }

  get bootstrapServers(): string {
    return this.#nodes.map((node) => `${this.advertisedHost}:${node.port}`).join(',')
  }

  get nodes(): KafkaNodeDescription[] {
    return this.#nodes.map((node) => this.#describeNode(node))
  }

  describe(): KafkaClusterDescription {
    const settings = this.#settings
    const listenerAddresses = (port: (node: NodeRuntime) => number | undefined): string =>
      this.#nodes.map((node) => `${this.advertisedHost}:${port(node)}`).join(',')
    return {
      name: this.name,
      harness: 'maven',
      version: this.version,
      classpath: this.classpath,
      bootstrapServers: this.bootstrapServers,
      listeners: {
        plaintext: this.bootstrapServers,
        ...(settings.sasl && { saslPlaintext: listenerAddresses((node) => node.saslPort) }),
        ...(settings.ssl && { ssl: listenerAddresses((node) => node.sslPort) }),
      },
      ...(settings.sasl && { sasl: { users: [...settings.sasl.users], mechanisms: [...settings.sasl.mechanisms] } }),
      ...(settings.ssl && this.#tls && { ssl: { clientAuth: settings.ssl.clientAuth, ...this.#tls.forClients } }),
      nodes: this.nodes,
      startupMs: this.#startupMs,
    }
  }

  /** Graceful stop of one node (SIGTERM: controlled shutdown), SIGKILL if it takes longer than 30 s. No-op if stopped. */
  stopNode(id: number): Promise<void> {
    return this.#serialize(async () => {
      const node = this.#node(id)
      await this.#stopProcess(node, true)
    })
  }

  /** SIGKILL of one node's JVM, like a crashed machine. No-op if stopped. */
  killNode(id: number): Promise<void> {
    return this.#serialize(async () => {
      const node = this.#node(id)
      await this.#stopProcess(node, false)
    })
  }

  /** Starts a stopped node and waits until it serves Metadata again and every running node lists it. */
  startNode(id: number): Promise<void> {
    return this.#serialize(async () => {
      const node = this.#node(id)
      if (node.state !== 'stopped') throw new NodeStateError(id, 'start', node.state)
      await this.#startAndAwait([node])
    })
  }

  /** Graceful stop then start of one node; resolves when it is back in Metadata. */
  restartNode(id: number): Promise<void> {
    return this.#serialize(async () => {
      const node = this.#node(id)
      await this.#stopProcess(node, true)
      await this.#startAndAwait([node])
    })
  }

  /**
   * Stops every node, then removes the temporary directory. With a temporary directory the JVMs are killed
   * outright: their data is deleted anyway, and a graceful KRaft shutdown of a whole quorum only makes
   * brokers wait on controllers that are leaving too. With a caller's dataDir, nodes stop gracefully.
   */
  stop(options: { graceful?: boolean } = {}): Promise<void> {
    if (this.#stopped) return Promise.resolve()
    this.#stopped = true
    const graceful = options.graceful ?? !this.#ownsRootDir
    // Does not queue behind pending node operations: it kills first, so a stuck restart fails fast.
    return this.#shutdown(graceful)
  }

  async #boot(): Promise<void> {
    const settings = this.#settings
    const count = settings.nodeCount
    await mkdir(this.rootDir, { recursive: true })
    const brokerPorts = settings.brokerPorts ?? (await allocatePorts(settings.host, count))
    const controllerPorts = await allocatePorts(CONTROLLER_HOST, count)
    const saslPorts = settings.sasl ? await allocatePorts(settings.host, count) : []
    const sslPorts = settings.ssl ? await allocatePorts(settings.host, count) : []
    const relayedPorts = settings.relayed ? await allocatePorts(settings.host, count) : []
    for (let i = 0; i < count; i++) {
      const id = i + 1
      const dir = join(this.rootDir, `node-${id}`)
      this.#nodes.push({
        id,
        dir,
        logFile: join(dir, 'server.log'),
        propertiesFile: join(dir, 'server.properties'),
        port: brokerPorts[i]!,
        controllerPort: controllerPorts[i]!,
        saslPort: saslPorts[i],
        sslPort: sslPorts[i],
        relayedPort: relayedPorts[i],
        state: 'stopped',
        process: undefined,
        pid: undefined,
        logOffset: 0,
      })
    }
    if (settings.ssl) this.#tls = await this.#prepareTls(settings.ssl.files)
    await Promise.all(
      this.#nodes.map(async (node) => {
        await mkdir(node.dir, { recursive: true })
        await writeFile(node.propertiesFile, renderProperties(this.#brokerProperties(node)))
      }),
    )
    await this.#formatStorage()
    await this.#startAndAwait(this.#nodes)
  }

  /** KRaft nodes refuse to start on unformatted storage; SCRAM credentials can only be bootstrapped here. */
  async #formatStorage(): Promise<void> {
    const settings = this.#settings
    const storageTool = await resolveMainClass(this.classpath, this.version, 'storage')
    const clusterId = newClusterId()
    const scramArgs: string[] = []
    for (const mechanism of settings.sasl?.mechanisms ?? []) {
      if (!mechanism.startsWith('SCRAM-')) continue
      for (const user of settings.sasl?.users ?? []) {
        scramArgs.push('--add-scram', `${mechanism}=[name=${user.name},password=${user.password}]`)
      }
    }
    await Promise.all(
      this.#nodes.map(async (node) => {
        const args = [...STORAGE_TOOL_JVM_OPTIONS, storageTool, 'format', '-t', clusterId, '-c', node.propertiesFile]
        // A caller-provided dataDir may hold a cluster formatted by an earlier run: keep it.
        if (!this.#ownsRootDir) args.push('--ignore-formatted')
        args.push(...scramArgs)
        const result = await runCommand(javaCommand(), args, { env: this.#jvmEnv(), cwd: node.dir })
        if (result.code !== 0) {
          throw new StorageFormatError(node.id, result.code, lastLines(result.stdout + result.stderr, 20))
        }
      }),
    )
  }

  #brokerProperties(node: NodeRuntime): Array<[string, string]> {
    const settings = this.#settings
    const host = settings.host
    const count = settings.nodeCount
    const replication = String(Math.min(3, count))
    const minIsr = String(Math.min(2, count))
    const listeners = [`PLAINTEXT://${host}:${node.port}`]
    const advertised = [`PLAINTEXT://${host}:${node.port}`]
    const protocolMap = ['PLAINTEXT:PLAINTEXT', 'CONTROLLER:PLAINTEXT']
    const props: Array<[string, string]> = [
      ['process.roles', 'broker,controller'],
      ['node.id', String(node.id)],
      ['controller.quorum.voters', this.#nodes.map((n) => `${n.id}@${CONTROLLER_HOST}:${n.controllerPort}`).join(',')],
      ['controller.listener.names', 'CONTROLLER'],
      ['inter.broker.listener.name', 'PLAINTEXT'],
      ['log.dirs', join(node.dir, 'data')],
      // Internal topics sized for the cluster, so a 1-node cluster works and a 3-node one survives a dead node.
      ['offsets.topic.replication.factor', replication],
      ['transaction.state.log.replication.factor', replication],
      ['transaction.state.log.min.isr', minIsr],
      ['share.coordinator.state.topic.replication.factor', replication],
      ['share.coordinator.state.topic.min.isr', minIsr],
      ['default.replication.factor', replication],
      // 50 partitions per internal topic (the default) cost seconds of leader elections on two cores.
      ['offsets.topic.num.partitions', '5'],
      ['transaction.state.log.num.partitions', '5'],
      ['group.initial.rebalance.delay.ms', '0'],
    ]
    if (settings.sasl) {
      const prefix = `listener.name.${SASL_LISTENER.toLowerCase()}`
      listeners.push(`${SASL_LISTENER}://${host}:${node.saslPort}`)
      advertised.push(`${SASL_LISTENER}://${host}:${node.saslPort}`)
      protocolMap.push(`${SASL_LISTENER}:SASL_PLAINTEXT`)
      props.push([`${prefix}.sasl.enabled.mechanisms`, settings.sasl.mechanisms.join(',')])
      for (const mechanism of settings.sasl.mechanisms) {
        const jaas =
          mechanism === 'PLAIN'
            ? `org.apache.kafka.common.security.plain.PlainLoginModule required ${settings.sasl.users
                .map((user) => `user_${user.name}="${user.password}"`)
                .join(' ')};`
            : 'org.apache.kafka.common.security.scram.ScramLoginModule required;'
        props.push([`${prefix}.${mechanism.toLowerCase()}.sasl.jaas.config`, jaas])
      }
    }
    if (settings.ssl && this.#tls) {
      const prefix = `listener.name.${SSL_LISTENER.toLowerCase()}`
      listeners.push(`${SSL_LISTENER}://${host}:${node.sslPort}`)
      advertised.push(`${SSL_LISTENER}://${host}:${node.sslPort}`)
      protocolMap.push(`${SSL_LISTENER}:SSL`)
      props.push(
        [`${prefix}.ssl.keystore.type`, 'PEM'],
        [`${prefix}.ssl.keystore.location`, this.#tls.keystore],
        [`${prefix}.ssl.truststore.type`, 'PEM'],
        [`${prefix}.ssl.truststore.location`, this.#tls.caFile],
        [`${prefix}.ssl.client.auth`, settings.ssl.clientAuth],
      )
    }
    if (settings.relayed) {
      listeners.push(`${RELAYED_LISTENER}://${host}:${node.relayedPort}`)
      advertised.push(
        `${RELAYED_LISTENER}://${settings.relayed.advertisedHost}:${settings.relayed.advertisedPorts[node.id - 1]}`,
      )
      protocolMap.push(`${RELAYED_LISTENER}:PLAINTEXT`)
    }
    listeners.push(`CONTROLLER://${CONTROLLER_HOST}:${node.controllerPort}`)
    props.push(
      ['listeners', listeners.join(',')],
      ['advertised.listeners', advertised.join(',')],
      ['listener.security.protocol.map', protocolMap.join(',')],
    )
    const merged = new Map(props)
    for (const [key, value] of Object.entries(settings.brokerProperties)) merged.set(key, String(value))
    return [...merged]
  }

  /** Certificates for the SSL listener: the caller's, or generated into the cluster directory. */
  async #prepareTls(files: PemFiles | undefined): Promise<TlsRuntime> {
    const dir = join(this.rootDir, 'tls')
    let forClients: TlsRuntime['forClients']
    let source: PemFiles
    if (files) {
      source = files
      forClients = { caFile: files.caFile }
    } else {
      const generated = await generateTestTls(dir, [this.advertisedHost, '127.0.0.1', 'localhost'])
      source = generated
      forClients = {
        caFile: generated.caFile,
        clientCertFile: generated.clientCertFile,
        clientKeyFile: generated.clientKeyFile,
      }
    }
    // Kafka's PEM keystore wants the private key and its certificate chain in one file.
    const [key, cert] = await Promise.all([readFile(source.keyFile, 'utf8'), readFile(source.certFile, 'utf8')])
    await mkdir(dir, { recursive: true })
    const keystore = join(dir, 'keystore.pem')
    await writeFile(keystore, `${key.trim()}\n${cert.trim()}\n`, { mode: 0o600 })
    return { keystore, caFile: source.caFile, forClients }
  }

  #jvmEnv(): NodeJS.ProcessEnv {
    // CLASSPATH rather than -cp keeps `ps` readable: about a hundred jar paths per JVM otherwise.
    return { ...process.env, CLASSPATH: this.classpath }
  }

  async #spawn(node: NodeRuntime): Promise<void> {
    const brokerClass = await resolveMainClass(this.classpath, this.version, 'broker')
    node.logOffset = await fileSize(node.logFile)
    const logFd = openSync(node.logFile, 'a')
    let watched: WatchedProcess
    try {
      watched = spawnWatched(
        javaCommand(),
        [...this.#settings.jvmOptions, ...LOG_OPTIONS, brokerClass, node.propertiesFile],
        {
          stdio: ['ignore', logFd, logFd],
          env: this.#jvmEnv(),
          cwd: node.dir,
          pidFile: join(node.dir, 'kafka.pid'),
          graceMs: WATCHDOG_GRACE_MS,
          // Only a temporary directory is the harness's to delete when it dies without cleaning up. The whole
          // cluster's: nodes stopped at that moment have no watchdog of their own.
          ...(this.#ownsRootDir && { cleanupDir: this.rootDir }),
        },
      )
    } finally {
      closeSync(logFd)
    }
    node.process = watched
    node.state = 'starting'
    watched.exited.then(() => {
      if (node.process !== watched) return
      node.state = 'stopped'
      node.pid = undefined
      node.process = undefined
    })
    node.pid = await watched.pid
  }

  /** Spawns the nodes and waits until each serves Metadata listing every running node (itself included). */
  async #startAndAwait(nodes: readonly NodeRuntime[]): Promise<void> {
    if (this.#stopped) throw new ClusterStoppedError(this.name)
    const timeoutMs = this.#settings.startTimeoutMs
    const abort = new AbortController()
    for (const node of nodes) await this.#spawn(node)
    for (const node of nodes) {
      const watched = node.process
      watched?.exited.then(async ({ code }) => {
        if (abort.signal.aborted) return
        abort.abort(await this.#exitError(node, code))
      })
    }
    const starting = new Set(nodes)
    const expectedIds = (): number[] =>
      this.#nodes.filter((n) => n.state === 'running' || starting.has(n)).map((n) => n.id)
    const servesWithPeers = async (node: NodeRuntime): Promise<boolean> => {
      const metadata = await probeMetadata(this.advertisedHost, node.port)
      const listed = new Set(metadata.brokers.map((broker) => broker.nodeId))
      return expectedIds().every((id) => listed.has(id))
    }
    try {
      await Promise.all(
        nodes.map((node) =>
          waitFor(
            `node ${node.id} to serve Metadata listing nodes ${expectedIds().join(',')}`,
            () => servesWithPeers(node),
            {
              timeoutMs,
              intervalMs: 250,
              signal: abort.signal,
            },
          ),
        ),
      )
      // Peers that were already running must see the (re)started nodes too, or clients bootstrapping from
      // them would not find the new broker.
      const peers = this.#nodes.filter((n) => n.state === 'running' && !starting.has(n))
      await Promise.all(
        peers.map((peer) =>
          waitFor(`node ${peer.id} to list the restarted node(s)`, () => servesWithPeers(peer), {
            timeoutMs,
            intervalMs: 250,
            signal: abort.signal,
          }),
        ),
      )
    } catch (err) {
      if (abort.signal.aborted && abort.signal.reason instanceof Error) throw abort.signal.reason
      if (err instanceof WaitTimeoutError) {
        const tails = await Promise.all(
          nodes.map(
            async (node) =>
              `--- node ${node.id} (${node.logFile}) ---\n${summarizeLog(await readLogSince(node.logFile, node.logOffset))}`,
          ),
        )
        throw new BrokerStartTimeoutError(
          `${this.name} (Kafka ${this.version})`,
          timeoutMs,
          err.message,
          tails.join('\n'),
        )
      }
      throw err
    } finally {
      abort.abort()
    }
    for (const node of nodes) node.state = 'running'
  }

  async #exitError(node: NodeRuntime, code: number | null): Promise<Error> {
    const log = await readLogSince(node.logFile, node.logOffset)
    const summary = summarizeLog(log)
    if (/Address already in use|BindException/.test(log)) {
      const address = /failed to bind to (\S+?):?\s/i.exec(log)?.[1]
      return new PortInUseError(node.id, address, summary)
    }
    return new BrokerExitedError(node.id, code, node.logFile, summary)
  }

  async #stopProcess(node: NodeRuntime, graceful: boolean): Promise<void> {
    const watched = node.process
    if (!watched) return
    node.state = 'stopping'
    await watched.signal(graceful ? 'SIGTERM' : 'SIGKILL')
    if (graceful) {
      const timer = new Promise<'timeout'>((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS, 'timeout').unref())
      if ((await Promise.race([watched.exited, timer])) === 'timeout') {
        this.#settings.log(`${this.name}: node ${node.id} ignored SIGTERM for ${STOP_TIMEOUT_MS} ms; killing it`)
        await watched.signal('SIGKILL')
      }
    }
    await watched.exited
  }

  async #shutdown(graceful: boolean): Promise<void> {
    await Promise.all(this.#nodes.map((node) => this.#stopProcess(node, graceful)))
    // A node operation in flight (a restart) may have spawned a JVM after the sweep above: once it has
    // settled (its broker died with the others, so it fails fast), sweep again.
    await this.#operations
    await Promise.all(this.#nodes.map((node) => this.#stopProcess(node, false)))
    if (this.#ownsRootDir) await rm(this.rootDir, { recursive: true, force: true })
  }

  #serialize<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#operations.then(() => {
      if (this.#stopped) throw new ClusterStoppedError(this.name)
      return operation()
    })
    this.#operations = run.catch(() => {})
    return run
  }

  #node(id: number): NodeRuntime {
    const node = this.#nodes.find((n) => n.id === id)
    if (!node) {
      throw new UnknownNodeError(
        id,
        this.#nodes.map((n) => n.id),
      )
    }
    return node
  }

  #describeNode(node: NodeRuntime): KafkaNodeDescription {
    return {
      id: node.id,
      host: this.advertisedHost,
      port: node.port,
      controllerPort: node.controllerPort,
      ...(node.saslPort !== undefined && { saslPort: node.saslPort }),
      ...(node.sslPort !== undefined && { sslPort: node.sslPort }),
      ...(node.relayedPort !== undefined && { relayedPort: node.relayedPort }),
      logFile: node.logFile,
      dir: node.dir,
      ...(node.pid !== undefined && { pid: node.pid }),
      running: node.state === 'running',
    }
  }
}

function normalizeOptions(options: KafkaClusterOptions): Settings {
  const nodeCount = options.nodes ?? 1
  if (!Number.isInteger(nodeCount) || nodeCount < 1)
    throw new HarnessConfigError('nodes', options.nodes, 'a positive integer')
  const version = options.version ?? DEFAULT_KAFKA_VERSION
  const host = options.advertisedHost ?? '127.0.0.2'
  if (!/^[A-Za-z0-9.-]+$/.test(host)) throw new HarnessConfigError('advertisedHost', host, 'a hostname or IPv4 address')
  if (options.brokerPorts && options.brokerPorts.length !== nodeCount) {
    throw new HarnessConfigError('brokerPorts', options.brokerPorts, `one port per node (${nodeCount})`)
  }
  const startTimeoutMs = options.startTimeoutMs ?? 120_000
  let sasl: Settings['sasl']
  if (options.listeners?.sasl) {
    const { users, mechanisms = ['PLAIN', 'SCRAM-SHA-512'] } = options.listeners.sasl
    if (mechanisms.length === 0)
      throw new HarnessConfigError('listeners.sasl.mechanisms', mechanisms, 'at least one mechanism')
    // Names and passwords end up inside JAAS strings and StorageTool's `[name=..,password=..]` syntax.
    for (const user of users) {
      if (!TOKEN.test(user.name))
        throw new HarnessConfigError('listeners.sasl.users[].name', user.name, 'letters, digits, . _ @ -')
      if (!PASSWORD.test(user.password)) {
        throw new HarnessConfigError(
          'listeners.sasl.users[].password',
          user.password,
          'no spaces, quotes, backslashes, commas, = or brackets',
        )
      }
    }
    sasl = { users: users.map((user) => ({ ...user })), mechanisms: [...mechanisms] }
  }
  let ssl: Settings['ssl']
  const given = options.listeners?.ssl
  if (given) {
    ssl = {
      clientAuth: given.clientAuth ?? 'none',
      files:
        'generate' in given
          ? undefined
          : { certFile: resolve(given.certFile), keyFile: resolve(given.keyFile), caFile: resolve(given.caFile) },
    }
  }
  const relayed = options.listeners?.relayed
  if (relayed && relayed.advertisedPorts.length !== nodeCount)
    throw new HarnessConfigError(
      'listeners.relayed.advertisedPorts',
      relayed.advertisedPorts,
      `one port per node (${nodeCount})`,
    )
  return {
    name: options.name ?? `kafka-${version}-${nodeCount}n`,
    nodeCount,
    version,
    host,
    dataDir: options.dataDir === undefined ? undefined : resolve(options.dataDir),
    brokerProperties: options.brokerProperties ?? {},
    sasl,
    ssl,
    relayed,
    brokerPorts: options.brokerPorts,
    startTimeoutMs,
    jvmOptions: options.jvmOptions ?? DEFAULT_JVM_OPTIONS,
    log: options.log ?? (() => {}),
  }
}

/**
 * A Kafka cluster id: 16 random bytes, base64url (22 characters). Like Kafka's own Uuid.randomUuid(), never
 * one starting with '-', which StorageTool's argument parser would take for an option (1 id in 64 otherwise).
 */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

/** java.util.Properties text: backslash escapes for the characters its parser would otherwise interpret. */
function renderProperties(entries: ReadonlyArray<readonly [string, string]>): string {
  const escapeText = (text: string, isKey: boolean): string =>
    text
      .replace(/\\/g, '\\\\')
      .replace(/\n/g, '\\n')
      .replace(/\r/g, '\\r')
      .replace(/\t/g, '\\t')
      .replace(isKey ? /([ :=#!])/g : /^([ #!])/, '\\$1')
  return `${entries.map(([key, value]) => `${escapeText(key, true)}=${escapeText(value, false)}`).join('\n')}\n`
}
