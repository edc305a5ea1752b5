import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import type { Argv } from 'yargs'
import { SidecarError } from '../errors.js'
import {
  CertToolError,
  type ClientSpec,
  createCa,
  type DevCa,
  issueClient,
  issueServer,
  loadCa,
  parseClientSpec,
} from '../tls/dev-pki.js'
import { type CliCommand, type CommandResult, emit } from './command.js'
import { usageLine } from './usage.js'

/**
 * `kafka-sidecar certs init`: a development CA, a server certificate for the sidecar (localhost, 127.0.0.1, ::1
 * and any --host) and named client certificates with a CN and optionally a SPIFFE ID, as PEM files, plus what
 * clients and the sidecar need to use them: a PEM keystore per client for Java, a Java properties file and a
 * listen.tls config snippet. Run again, it keeps the CA and the files that exist (new --client names are added);
 * --force makes everything anew.
 */

export interface CertsInitArgs {
  dir: string
  clients: readonly string[]
  hosts: readonly string[]
  days: number
  force: boolean
}

export const DEFAULT_HOSTS = ['localhost', '127.0.0.1', '::1'] as const
export const DEFAULT_CLIENT = 'demo:spiffe://example.org/ns/default/sa/demo'

interface Written {
  file: string
  what: string
  kept: boolean
}

export function runCertsInit(args: CertsInitArgs): CommandResult {
  let clients: ClientSpec[]
  try {
    clients = (args.clients.length > 0 ? args.clients : [DEFAULT_CLIENT]).map(parseClientSpec)
  } catch (err) {
    if (err instanceof SidecarError) return { exitCode: 2, stdout: '', stderr: `error ${err.code}: ${err.message}\n` }
    throw err
  }
  if (!Number.isInteger(args.days) || args.days < 1 || args.days > 36_500) {
    return {
      exitCode: 2,
      stdout: '',
      stderr: usageLine(`--days ${args.days} is not a whole number of days 1-36500: --days DAYS`, 'certs'),
    }
  }
  const dir = resolve(args.dir)
  const hosts = [...new Set([...DEFAULT_HOSTS, ...args.hosts])]
  const written: Written[] = []
  try {
    mkdirSync(dir, { recursive: true })
    const path = (name: string) => join(dir, name)
    const write = (name: string, text: string, what: string, secret = false): void => {
      writeFileSync(path(name), text, { mode: secret ? 0o600 : 0o644 })
      // writeFileSync's mode applies only to new files; an existing key file keeps being private too.
      chmodSync(path(name), secret ? 0o600 : 0o644)
      written.push({ file: name, what, kept: false })
    }
    const keep = (name: string, what: string) => written.push({ file: name, what, kept: true })

    let ca: DevCa
    let newCa = false
    if (!args.force && existsSync(path('ca.pem')) && existsSync(path('ca.key'))) {
      ca = loadCa(readFileSync(path('ca.pem'), 'utf8'), readFileSync(path('ca.key'), 'utf8'))
      keep('ca.pem', `development CA (${ca.subject}): clients and the sidecar trust it`)
      keep('ca.key', 'its private key: keep it private, it issues more certificates')
    } else {
      ca = createCa()
      newCa = true
      write('ca.pem', ca.cert, `development CA (${ca.subject}): clients and the sidecar trust it`)
      write('ca.key', ca.key, 'its private key: keep it private, it issues more certificates', true)
    }

    const serverWhat = `sidecar certificate (${hosts.join(', ')}) and key`
    if (newCa || args.force || !existsSync(path('server.pem')) || !existsSync(path('server.key'))) {
      const server = issueServer(ca, hosts, { days: args.days })
      write('server.pem', server.cert, serverWhat)
      write('server.key', server.key, 'the sidecar certificate key', true)
    } else {
      keep('server.pem', serverWhat)
      keep('server.key', 'the sidecar certificate key')
    }

    for (const client of clients) {
      const base = `client-${client.name}`
      const identity = `CN=${client.name}${client.spiffe === undefined ? '' : `, ${client.spiffe}`}`
      if (!newCa && !args.force && existsSync(path(`${base}.pem`))) {
        keep(`${base}.pem`, `client certificate ${identity}`)
        continue
      }
      const pem = issueClient(ca, client, { days: args.days })
      write(`${base}.pem`, pem.cert, `client certificate ${identity}`)
      write(`${base}.key`, pem.key, 'its key (librdkafka ssl.key.location)', true)
      write(
        `${base}.keystore.pem`,
        `${pem.key.trim()}\n${pem.cert.trim()}\n`,
        'key + certificate in one file, for Java (ssl.keystore.type=PEM)',
        true,
      )
      write(`${base}.properties`, javaProperties(dir, base), 'Java client settings (--command-config)')
    }
    write('sidecar-tls.yaml', configSnippet(), 'listen.tls for the sidecar config (paths relative to this file)')
  } catch (err) {
    if (err instanceof CertToolError) return { exitCode: 1, stdout: '', stderr: `error ${err.code}: ${err.message}\n` }
    const e = err as NodeJS.ErrnoException
    if (e.code !== undefined) {
      return {
        exitCode: 1,
        stdout: '',
        stderr: `error KSC_ERR_CERTS: cannot write in ${dir} (${e.code}): ${e.message}\n`,
      }
    }
    throw err
  }
  return { exitCode: 0, stdout: report(dir, written, clients), stderr: '' }
}

function javaProperties(dir: string, base: string): string {
  return [
    '# Kafka Java client (and kafka-console-producer/consumer --command-config) over mTLS to the sidecar',
    'security.protocol=SSL',
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${join(dir, 'ca.pem')}`,
    'ssl.keystore.type=PEM',
    `ssl.keystore.location=${join(dir, `${base}.keystore.pem`)}`,
    '',
  ].join('\n')
}

function configSnippet(): string {
  return [
    '# mTLS on the sidecar listeners; merge into the sidecar config (relative paths are relative to the config file).',
    'listen:',
    '  tls:',
    '    cert: server.pem',
    '    key: server.key',
    '    ca: ca.pem                  # clients must present a certificate from this CA',
    '    principal:',
    '      from: [spiffe, cn]        # the SPIFFE ID if the certificate has one, else the CN',
    '      rules:',
    "        - { match: '^spiffe://[^/]+/ns/([^/]+)/sa/([^/]+)$', replace: '$1/$2' }   # -> namespace/serviceaccount",
    '',
  ].join('\n')
}

function report(dir: string, written: readonly Written[], clients: readonly ClientSpec[]): string {
  const shown = relative(process.cwd(), dir) || '.'
  const d = shown.startsWith('..') ? dir : shown
  const f = (name: string) => join(d, name)
  const width = Math.max(...written.map((w) => w.file.length)) + 2
  const client = clients[0]!
  const base = `client-${client.name}`
  return [
    `kafka-sidecar certs init: development certificates in ${dir}`,
    ...written.map((w) => `  ${w.file.padEnd(width)}${w.kept ? '(kept) ' : ''}${w.what}`),
    '',
    'Sidecar (mTLS on its listeners):',
    `  kafka-sidecar run --upstream BROKER:9092 --tls-cert ${f('server.pem')} --tls-key ${f('server.key')} --tls-client-ca ${f('ca.pem')}`,
    `  or merge ${f('sidecar-tls.yaml')} into the config file`,
    '',
    `kcat as client "${client.name}":`,
    `  kcat -b 127.0.0.1:9092 -X security.protocol=SSL -X ssl.ca.location=${f('ca.pem')} \\`,
    `       -X ssl.certificate.location=${f(`${base}.pem`)} -X ssl.key.location=${f(`${base}.key`)} -L`,
    '',
    `Java client / Kafka tools as "${client.name}":`,
    `  kafka-console-producer.sh --bootstrap-server 127.0.0.1:9092 --topic demo --command-config ${f(`${base}.properties`)}`,
    '',
    `The principal of "${client.name}" is ${client.spiffe === undefined ? `its CN, ${client.name}` : `${client.spiffe} (with the rule in sidecar-tls.yaml: ${spiffeShort(client.spiffe)})`}.`,
    'These are for development: the CA key is in the same directory.',
    '',
  ].join('\n')
}

function spiffeShort(id: string): string {
  const m = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(id)
  return m ? `${m[1]}/${m[2]}` : id
}

export const certsCommand: CliCommand = {
  command: 'certs <action>',
  describe: 'Development certificates: a CA, the sidecar certificate and client certificates (SPIFFE or CN)',
  builder: (y: Argv) =>
    y
      .positional('action', { choices: ['init'], describe: 'init: create the CA and certificates as PEM files' })
      .option('dir', { type: 'string', default: './certs', describe: 'directory for the PEM files', requiresArg: true })
      .option('client', {
        type: 'string',
        array: true,
        default: [],
        describe: `a client certificate NAME[:spiffe://trust-domain/path], repeatable (default ${DEFAULT_CLIENT})`,
        requiresArg: true,
      })
      .option('host', {
        type: 'string',
        array: true,
        default: [],
        describe: `another name or address for the sidecar certificate (always: ${DEFAULT_HOSTS.join(', ')})`,
        requiresArg: true,
      })
      .option('days', {
        type: 'number',
        default: 365,
        describe: 'validity of the server and client certificates',
        requiresArg: true,
      })
      .option('force', { type: 'boolean', default: false, describe: 'make a new CA and reissue every file' })
      .example('$0 certs init', 'CA, server certificate for localhost and a client "demo" in ./certs')
      .example(
        '$0 certs init --client orders:spiffe://example.org/ns/shop/sa/orders --client reporting',
        'a SPIFFE client and a CN-only client',
      ),
  handler: (argv: Record<string, unknown>) => {
    emit(
      runCertsInit({
        dir: argv.dir as string,
        clients: (argv.client as string[]) ?? [],
        hosts: (argv.host as string[]) ?? [],
        days: argv.days as number,
        force: argv.force as boolean,
      }),
    )
  },
}
