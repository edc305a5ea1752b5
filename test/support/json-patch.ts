/**
 * RFC 6902 `add`, `remove`, `replace` and `test` on a deep copy, for the injector's unit tests (the process-level
 * test applies the patches with the API server's own library instead: test/harness/registry-tools.ts JSON_PATCH).
 * Throws on a path that does not exist where RFC 6902 requires it to (an `add` into a missing parent, an index
 * past the end), as the API server would refuse such a patch.
 */
export interface Operation {
  readonly op: string
  readonly path: string
  readonly value?: unknown
}

export function applyPatch<T>(doc: T, patch: readonly Operation[]): T {
  let root: unknown = structuredClone(doc)
  for (const op of patch) {
    const segments = parsePointer(op.path)
    if (segments.length === 0) {
      if (op.op === 'add' || op.op === 'replace') root = structuredClone(op.value)
      else throw new Error(`${op.op} of the whole document is not supported here`)
      continue
    }
    const parent = resolve(root, segments.slice(0, -1), op.path)
    const last = segments[segments.length - 1]!
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last)
      if (!/^(\d+|-)$/.test(last) || index > parent.length) throw new Error(`${op.path}: no such array index`)
      if (op.op === 'add') parent.splice(index, 0, structuredClone(op.value))
      else if (index >= parent.length) throw new Error(`${op.path}: no such element`)
      else if (op.op === 'remove') parent.splice(index, 1)
      else if (op.op === 'replace') parent[index] = structuredClone(op.value)
      else if (op.op === 'test') expectEqual(parent[index], op.value, op.path)
    } else if (isObject(parent)) {
      if (op.op === 'add') parent[last] = structuredClone(op.value)
      else if (!(last in parent)) throw new Error(`${op.path}: no such member`)
      else if (op.op === 'remove') delete parent[last]
      else if (op.op === 'replace') parent[last] = structuredClone(op.value)
      else if (op.op === 'test') expectEqual(parent[last], op.value, op.path)
    } else throw new Error(`${op.path}: the parent is not a container`)
  }
  return root as T
}

function parsePointer(path: string): string[] {
  if (path === '') return []
  if (!path.startsWith('/')) throw new Error(`${path}: a JSON pointer starts with /`)
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
}

function resolve(root: unknown, segments: readonly string[], path: string): unknown {
  let node = root
  for (const s of segments) {
    if (Array.isArray(node)) node = node[Number(s)]
    else if (isObject(node)) node = node[s]
    else node = undefined
    if (node === undefined) throw new Error(`${path}: the parent does not exist`)
  }
  return node
}

function expectEqual(a: unknown, b: unknown, path: string): void {
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${path}: test failed`)
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
