import http from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * An in-process stand-in for a Confluent-compatible registry, for unit tests only (the integration tests use the real
 * Apicurio Registry): serves /schemas/ids/{id}, /schemas/ids/{id}/versions and /subjects/{s}/versions/{v} from what the
 * test registers, records every request, and can be told to fail or hang.
 */
export interface FakeSchema {
  readonly schema: string
  readonly schemaType?: 'AVRO' | 'JSON' | 'PROTOBUF'
  readonly subject: string
  readonly version?: number
  readonly references?: readonly { name: string; subject: string; version: number }[]
}

export class FakeRegistry {
  readonly requests: { path: string; authorization: string | undefined }[] = []
  readonly schemas = new Map<number, FakeSchema>()
  /** 'ok': answer; 'error': HTTP 500; 'hang': never answer; 'unauthorized': 401. */
  mode: 'ok' | 'error' | 'hang' | 'unauthorized' = 'ok'
  private server: http.Server | undefined
  private readonly hanging: http.ServerResponse[] = []

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/apis/ccompat/v7`
  }

  add(id: number, schema: FakeSchema): this {
    this.schemas.set(id, schema)
    return this
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.answer(req, res))
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    return this
  }

  async stop(): Promise<void> {
    for (const r of this.hanging) r.destroy()
    this.server?.closeAllConnections()
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve())
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): undefined {
    const path = (req.url ?? '').replace(/^\/apis\/ccompat\/v7/, '')
    this.requests.push({ path, authorization: req.headers.authorization })
    const json = (status: number, body: unknown): undefined => {
      res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' })
      res.end(JSON.stringify(body))
    }
    if (this.mode === 'hang') {
      this.hanging.push(res)
      return
    }
    if (this.mode === 'error') return json(500, { error_code: 50001, message: 'storage down' })
    if (this.mode === 'unauthorized') return json(401, { error_code: 401, message: 'Unauthorized' })
    let m = /^\/schemas\/ids\/(\d+)(\/versions)?$/.exec(path)
    if (m) {
      const s = this.schemas.get(Number(m[1]))
      if (s === undefined) return json(404, { error_code: 40403, message: `Schema ${m[1]} not found.` })
      if (m[2]) return json(200, [{ subject: s.subject, version: s.version ?? 1 }])
      return json(200, { schema: s.schema, schemaType: s.schemaType, references: s.references })
    }
    m = /^\/subjects\/([^/]+)\/versions\/(\d+)$/.exec(path)
    if (m) {
      const subject = decodeURIComponent(m[1]!)
      const s = [...this.schemas.values()].find((x) => x.subject === subject && (x.version ?? 1) === Number(m![2]))
      if (s === undefined) return json(404, { error_code: 40402, message: 'Version not found.' })
      return json(200, { subject, version: s.version ?? 1, schema: s.schema, schemaType: s.schemaType })
    }
    json(404, { error_code: 404, message: 'no such path' })
  }
}
