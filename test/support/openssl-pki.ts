import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { join } from 'node:path'

/**
 * Certificates issued by the openssl CLI, an issuer independent of the product's own tooling (src/tls/dev-pki.ts,
 * node-forge), so a TLS test cannot pass because both ends share a bug. P-256 keys: made in milliseconds and
 * accepted by Node, librdkafka and Kafka's PEM keystore (openssl writes them as unencrypted PKCS#8).
 *
 * Expired certificates come from `openssl ca`, which takes explicit -startdate/-enddate (`openssl x509 -req`
 * in OpenSSL 3.0 cannot backdate: -not_before arrived in 3.4).
 */

export interface Pem {
  readonly cert: string
  readonly key: string
}

export interface TestCa extends Pem {
  readonly dir: string
  readonly name: string
}

export interface LeafOptions {
  /** Subject CN. */
  readonly cn: string
  /** SANs: 'DNS:x', 'IP:1.2.3.4', 'URI:spiffe://...'; or bare hosts/addresses (DNS or IP by form). */
  readonly san?: readonly string[]
  readonly usage?: 'server' | 'client' | 'both'
  /** Validity in days from now (default 7); or an explicit window in the past for an expired certificate. */
  readonly days?: number
  readonly expired?: boolean
  /** File base name (default: the CN, made file-safe). */
  readonly name?: string
}

function openssl(args: readonly string[], cwd?: string): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], ...(cwd !== undefined && { cwd }) })
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']

/** A self-signed CA certificate and key in `dir`. */
export function createCa(dir: string, name: string): TestCa {
  mkdirSync(dir, { recursive: true })
  const base = join(dir, name)
  const ca = { dir, name, cert: `${base}.pem`, key: `${base}.key` }
  openssl([
    'req',
    '-x509',
    '-new',
    ...EC,
    '-keyout',
    ca.key,
    '-out',
    ca.cert,
    '-days',
    '30',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ])
  return ca
}

/** A leaf certificate from `ca`, written beside it as <name>.pem / <name>.key. */
export function issue(ca: TestCa, options: LeafOptions): Pem {
  const name = options.name ?? options.cn.replace(/[^A-Za-z0-9_.-]/g, '_')
  const base = join(ca.dir, name)
  const out = { cert: `${base}.pem`, key: `${base}.key` }
  const usage = options.usage ?? 'client'
  const eku = usage === 'server' ? 'serverAuth' : usage === 'client' ? 'clientAuth' : 'serverAuth,clientAuth'
  const sans = (options.san ?? []).map((s) => (/^(DNS|IP|URI|email):/.test(s) ? s : isIP(s) ? `IP:${s}` : `DNS:${s}`))
  const ext = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${eku}`,
    ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
  ]
  const csr = `${base}.csr`
  openssl(['req', '-new', ...EC, '-keyout', out.key, '-out', csr, '-subj', `/CN=${options.cn}`])
  if (options.expired) {
    // openssl ca with its minimal database; the extensions come from a section of the same file.
    const db = join(ca.dir, `${name}.db`)
    mkdirSync(db, { recursive: true })
    writeFileSync(join(db, 'index.txt'), '')
    writeFileSync(join(db, 'serial'), `${Date.now().toString(16).padStart(16, '0')}\n`)
    const cnf = join(db, 'ca.cnf')
    writeFileSync(
      cnf,
      [
        '[ ca ]',
        'default_ca = test',
        '[ test ]',
        `database = ${join(db, 'index.txt')}`,
        `serial = ${join(db, 'serial')}`,
        `new_certs_dir = ${db}`,
        'default_md = sha256',
        'policy = any',
        'unique_subject = no',
        'x509_extensions = leaf',
        '[ any ]',
        'commonName = supplied',
        '[ leaf ]',
        ...ext,
        '',
      ].join('\n'),
    )
    openssl([
      'ca',
      '-batch',
      '-notext',
      '-config',
      cnf,
      '-cert',
      ca.cert,
      '-keyfile',
      ca.key,
      '-in',
      csr,
      '-out',
      out.cert,
      '-startdate',
      '20200101000000Z',
      '-enddate',
      '20200102000000Z',
    ])
    return out
  }
  const extFile = `${base}.ext`
  writeFileSync(extFile, `${ext.join('\n')}\n`)
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-out',
    out.cert,
    '-days',
    String(options.days ?? 7),
    '-extfile',
    extFile,
  ])
  return out
}

/** Key and certificate chain in one file, as Kafka's PEM keystore (ssl.keystore.type=PEM) reads them. */
export function pemKeystore(pem: Pem, file: string): string {
  writeFileSync(file, `${readFileSync(pem.key, 'utf8').trim()}\n${readFileSync(pem.cert, 'utf8').trim()}\n`, {
    mode: 0o600,
  })
  return file
}
