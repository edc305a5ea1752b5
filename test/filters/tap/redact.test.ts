import { describe, expect, it } from 'vitest'
import { REDACTED, Redactor } from '../../../filters/tap/redact.js'

const redact = (paths: string[], doc: unknown) => {
  const out = new Redactor(paths).redact(Buffer.from(JSON.stringify(doc)))
  if (out.kind !== 'redacted') throw new Error('not JSON')
  return { doc: JSON.parse(out.value.toString()), fields: out.fields }
}

describe('tap redaction', () => {
  it('a path from the root', () => {
    expect(redact(['card.number'], { card: { number: '4111', exp: '12/30' }, number: 1 })).toEqual({
      doc: { card: { number: REDACTED, exp: '12/30' }, number: 1 },
      fields: 1,
    })
  })

  it('* one key or array element, ** any depth', () => {
    const doc = {
      users: [
        { name: 'a', password: 'x' },
        { name: 'b', password: 'y', nested: { password: 'z' } },
      ],
      password: 'top',
    }
    expect(redact(['users.*.name'], doc).doc.users.map((u: { name: string }) => u.name)).toEqual([REDACTED, REDACTED])
    const all = redact(['**.password'], doc)
    expect(all.fields).toBe(4)
    expect(JSON.stringify(all.doc)).not.toMatch(/"(x|y|z|top)"/)
  })

  it('a whole object or array is replaced, not walked', () => {
    expect(redact(['user'], { user: { id: 1, email: 'e' }, keep: true }).doc).toEqual({ user: REDACTED, keep: true })
  })

  it('a document without the fields is copied as it is', () => {
    expect(redact(['secret'], { a: 1 })).toEqual({ doc: { a: 1 }, fields: 0 })
  })

  it('a value that is not JSON is not copied', () => {
    expect(new Redactor(['a']).redact(Buffer.from('plain text'))).toEqual({ kind: 'not-json' })
    expect(new Redactor([]).active).toBe(false)
  })
})
