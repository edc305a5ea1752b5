import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { isProcessAlive, KafkaCluster, type KafkaClusterDescription, waitFor } from './index.js'

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const children: ChildProcess[] = []

/** `npm run kafka`, minus the build: the CLI's TypeScript run in a child Node process. */
function startCli(args: readonly string[]): {
  child: ChildProcess
  description: Promise<KafkaClusterDescription>
  stderr: () => string
} {
  const child = spawn(
    process.execPath,
    ['test/harness/fixtures/run-ts.mjs', 'test/harness/cli.ts', '--json', ...args],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  children.push(child)
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  const description = new Promise<KafkaClusterDescription>((resolve, reject) => {
    let stdout = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8')
      const newline = stdout.indexOf('\n')
      if (newline >= 0) resolve(JSON.parse(stdout.slice(0, newline)) as KafkaClusterDescription)
    })
    child.once('exit', (code) => reject(new Error(`the CLI exited (${code}) before printing the cluster:\n${stderr}`)))
  })
  return { child, description, stderr: () => stderr }
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)))
}

afterEach(() => {
  // A failed assertion must not leave a CLI behind (its brokers would then die with it, via the watchdog).
  for (const child of children.splice(0)) child.kill('SIGKILL')
})

describe('no orphaned JVMs', () => {
  it('SIGKILL of the Node process that started a cluster takes its brokers and data with it', async () => {
    const cli = startCli(['--nodes', '1'])
    const cluster = await cli.description
    const pids = cluster.nodes.map((node) => node.pid!)
    const rootDir = dirname(cluster.nodes[0]!.dir)
    expect(pids.every(isProcessAlive)).toBe(true)
    expect(existsSync(rootDir)).toBe(true)

    // SIGKILL: no exit handler, no finally, no signal handler of the harness runs. Only the watchdog is left.
    cli.child.kill('SIGKILL')
    await exited(cli.child)
    await waitFor('the broker JVM to be gone', () => pids.every((pid) => !isProcessAlive(pid)), { timeoutMs: 20_000 })
    await waitFor('the temporary data directory to be removed', () => !existsSync(rootDir), { timeoutMs: 10_000 })
  })

  it('the CLI stops its cluster on Ctrl-C (SIGINT), removes its data and exits 0', async () => {
    const cli = startCli(['--nodes', '1'])
    const cluster = await cli.description
    const pids = cluster.nodes.map((node) => node.pid!)
    const rootDir = dirname(cluster.nodes[0]!.dir)

    cli.child.kill('SIGINT')
    expect(await exited(cli.child), cli.stderr()).toBe(0)
    expect(pids.some(isProcessAlive)).toBe(false)
    expect(existsSync(rootDir)).toBe(false)
    expect(cli.stderr()).toContain('SIGINT: stopping the cluster')
  })
})

describe('start-up failures are typed and say why', () => {
  it('a broker port already in use: KSC_ERR_HARNESS_PORT_IN_USE naming the address', async () => {
    const blocker: Server = createServer()
    await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.2', port: 0 }, () => resolve()))
    const { port } = blocker.address() as { port: number }
    try {
      const error = await KafkaCluster.start({ name: 'port-clash', brokerPorts: [port] }).then(
        () => undefined,
        (err: unknown) => err,
      )
      expect(error).toMatchObject({ code: 'KSC_ERR_HARNESS_PORT_IN_USE', nodeId: 1 })
      expect((error as Error).message).toContain(`127.0.0.2:${port}`)
    } finally {
      blocker.close()
    }
  })

  it('a JVM that cannot start: KSC_ERR_HARNESS_BROKER_EXITED with the log tail', async () => {
    await expect(
      KafkaCluster.start({ name: 'bad-jvm', jvmOptions: ['-XX:+NoSuchOptionForKscTest'] }),
    ).rejects.toMatchObject({
      code: 'KSC_ERR_HARNESS_BROKER_EXITED',
      message: expect.stringContaining('NoSuchOptionForKscTest'),
    })
  })

  it('a broker config Kafka rejects: KSC_ERR_HARNESS_STORAGE_FORMAT_FAILED naming the property', async () => {
    await expect(
      KafkaCluster.start({ name: 'bad-config', brokerProperties: { 'num.network.threads': 'many' } }),
    ).rejects.toMatchObject({
      code: 'KSC_ERR_HARNESS_STORAGE_FORMAT_FAILED',
      message: expect.stringContaining('num.network.threads'),
    })
  })
})
