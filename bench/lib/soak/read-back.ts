/**
 * Every record of a topic read back straight from the brokers (not through the sidecar) with kcat, read_committed,
 * from the beginning to the end of each partition: aborted transactions stay invisible, exactly as a consumer of the
 * application would see the log. Each record goes to `onRecord`; kcat's own "Reached end" lines say where each
 * partition ended, which the caller compares with the brokers' high watermarks to know the read was complete.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'

export interface ReadBackResult {
  records: number
  /** Offset at which kcat reached the end of each partition. */
  endOffsets: Map<number, number>
}

export async function readTopic(
  bootstrapServers: string,
  topic: string,
  onRecord: (partition: number, offset: number, key: string) => void,
): Promise<ReadBackResult> {
  const child = spawn(
    'kcat',
    [
      ...['-C', '-b', bootstrapServers, '-t', topic, '-o', 'beginning', '-e'],
      ...['-f', '%p %o %k\\n', '-X', 'isolation.level=read_committed'],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const endOffsets = new Map<number, number>()
  let stderr = ''
  let records = 0
  createInterface({ input: child.stderr }).on('line', (line) => {
    const end = /Reached end of topic \S+ \[(\d+)\] at offset (\d+)/.exec(line)
    if (end) endOffsets.set(Number(end[1]), Number(end[2]))
    else stderr += `${line}\n`
  })
  const lines = createInterface({ input: child.stdout })
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve(code))
  })
  for await (const line of lines) {
    const first = line.indexOf(' ')
    const second = line.indexOf(' ', first + 1)
    if (first < 0 || second < 0) continue
    records++
    onRecord(Number(line.slice(0, first)), Number(line.slice(first + 1, second)), line.slice(second + 1))
  }
  const code = await exited
  if (code !== 0) throw new Error(`kcat read of ${topic} exited with ${code}: ${stderr.slice(-1000)}`)
  return { records, endOffsets }
}
