import http from 'node:http'
import https from 'node:https'

/**
 * A client of a Confluent-compatible schema registry's REST API (Confluent Schema Registry API reference,
 * https://docs.confluent.io/platform/current/schema-registry/develop/api.html; Apicurio serves the same at
 * /apis/ccompat/v7), reading only what validation needs:
 *
 *   GET /schemas/ids/{id}                      -> { schema, schemaType?, references? }   (schemaType absent: AVRO)
 *   GET /schemas/ids/{id}/versions             -> [{ subject, version }]                  (which subjects hold it)
 *   GET /subjects/{subject}/versions/{version} -> { schema, schemaType?, references? }   (a referenced schema)
 *
 * A 404 with error_code 40403 means the id is unknown (40401/40402 for subjects and versions). Every call has a
 * deadline; credentials go in the Authorization header (basic or bearer).
 */

export interface RegistryReference {
  readonly name: string
  readonly subject: string
  readonly version: number
}

export interface RegistrySchemaText {
  readonly schema: string
  readonly schemaType: string | undefined
  readonly references: readonly RegistryReference[]
}

export interface SubjectVersion {
  readonly subject: string
  readonly version: number
}

export interface RegistryHttpOptions {
  readonly url: string
  readonly authorization: string | undefined
  readonly ca: string | undefined
  readonly insecureSkipVerify: boolean
  readonly timeoutMs: number
}

/** The registry answered that the thing asked for does not exist. */
export class RegistryNotFoundError extends Error {
  readonly code = 'KSC_ERR_SCHEMA_REGISTRY_NOT_FOUND'
}

/** The registry could not be asked, or did not answer usefully: the rule's onRegistryDown decides. */
export class RegistryUnavailableError extends Error {
  readonly code = 'KSC_ERR_SCHEMA_REGISTRY_UNAVAILABLE'
}

class StaleSocketError extends Error {}

const ACCEPT = 'application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json'

export class RegistryHttp {
  private readonly agent: http.Agent
  private readonly base: URL

  constructor(private readonly options: RegistryHttpOptions) {
    this.base = new URL(`${options.url}/`)
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            maxSockets: 8,
            ca: options.ca,
            rejectUnauthorized: !options.insecureSkipVerify,
          })
        : new http.Agent({ keepAlive: true, maxSockets: 8 })
  }

  async schemaById(id: number): Promise<RegistrySchemaText> {
    return asSchemaText(await this.get(`schemas/ids/${id}`), `schema id ${id}`)
  }

  async subjectsOf(id: number): Promise<readonly SubjectVersion[]> {
    const body = await this.get(`schemas/ids/${id}/versions`)
    if (!Array.isArray(body)) throw new RegistryUnavailableError(`schemas/ids/${id}/versions did not answer a list`)
    return body
      .filter((e): e is SubjectVersion => typeof e?.subject === 'string' && Number.isInteger(e?.version))
      .map((e) => ({ subject: e.subject, version: e.version }))
  }

  async subjectVersion(subject: string, version: number): Promise<RegistrySchemaText> {
    return asSchemaText(
      await this.get(`subjects/${encodeURIComponent(subject)}/versions/${version}`),
      `subject ${subject} version ${version}`,
    )
  }

  close(): void {
    this.agent.destroy()
  }

  /**
   * A kept-alive connection the registry closed while idle fails the request written on it (ECONNRESET, EPIPE) before
   * any answer: such a request is sent once more on a new connection.
   */
  private async get(path: string): Promise<unknown> {
    try {
      return await this.getOnce(path)
    } catch (err) {
      if (err instanceof StaleSocketError) return this.getOnce(path)
      throw err
    }
  }

  private getOnce(path: string): Promise<unknown> {
    const url = new URL(path, this.base)
    const lib = url.protocol === 'https:' ? https : http
    return new Promise((resolve, reject) => {
      const req = lib.request(
        url,
        {
          method: 'GET',
          agent: this.agent,
          headers: {
            accept: ACCEPT,
            ...(this.options.authorization === undefined ? {} : { authorization: this.options.authorization }),
          },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('error', (err) => reject(new RegistryUnavailableError(`${url.pathname}: ${err.message}`)))
          res.on('end', () => {
            clearTimeout(timer)
            const text = Buffer.concat(chunks).toString('utf8')
            let body: unknown
            try {
              body = text === '' ? undefined : JSON.parse(text)
            } catch {
              body = undefined
            }
            const status = res.statusCode ?? 0
            if (status === 200) {
              if (body === undefined) reject(new RegistryUnavailableError(`${url.pathname} answered 200 without JSON`))
              else resolve(body)
              return
            }
            const message = (body as { message?: unknown } | undefined)?.message
            const detail = typeof message === 'string' ? `: ${message}` : ''
            if (status === 404) {
              reject(new RegistryNotFoundError(`${url.pathname} is not in the registry${detail}`))
            } else if (status === 401 || status === 403) {
              reject(
                new RegistryUnavailableError(
                  `the registry refused the sidecar's credentials (HTTP ${status}${detail}): check registry.auth`,
                ),
              )
            } else {
              reject(new RegistryUnavailableError(`${url.pathname} answered HTTP ${status}${detail}`))
            }
          })
        },
      )
      const timer = setTimeout(() => {
        req.destroy(new Error(`no answer within ${this.options.timeoutMs} ms (registry.timeoutMs)`))
      }, this.options.timeoutMs)
      req.on('error', (err) => {
        clearTimeout(timer)
        const code = (err as NodeJS.ErrnoException).code
        if (req.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE')) {
          reject(new StaleSocketError(err.message))
          return
        }
        reject(
          new RegistryUnavailableError(`cannot reach the schema registry at ${this.base.origin}: ${describe(err)}`),
        )
      })
      req.end()
    })
  }
}

function describe(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code
  return code !== undefined && !err.message.includes(code) ? `${code} ${err.message}` : err.message
}

function asSchemaText(body: unknown, what: string): RegistrySchemaText {
  const b = body as { schema?: unknown; schemaType?: unknown; references?: unknown }
  if (typeof b?.schema !== 'string')
    throw new RegistryUnavailableError(`${what}: the registry's answer has no schema text`)
  const refs = Array.isArray(b.references) ? b.references : []
  return {
    schema: b.schema,
    schemaType: typeof b.schemaType === 'string' ? b.schemaType : undefined,
    references: refs
      .filter(
        (r): r is RegistryReference =>
          typeof r?.name === 'string' && typeof r?.subject === 'string' && Number.isInteger(r?.version),
      )
      .map((r) => ({ name: r.name, subject: r.subject, version: r.version })),
  }
}
