import { describe, expect, it } from 'vitest'
import { emitErrorCodes, parseErrorTable } from '../../../codec/generator/emit-errors.js'

describe('the generator reading Kafka error table', () => {
  const table = [
    '-1\tUNKNOWN_SERVER_ERROR\tfalse\tUnknownServerException\tThe server experienced an unexpected error.',
    '0\tNONE\tfalse\t\t',
    "87\tINVALID_RECORD\tfalse\tInvalidRecordException\tThis record's bad.",
    '6\tNOT_LEADER_OR_FOLLOWER\ttrue\tNotLeaderOrFollowerException\tNot the leader.',
  ].join('\n')

  it('parses PrintErrors output into rows sorted by code', () => {
    const rows = parseErrorTable(`${table}\n`)
    expect(rows.map((r) => r.code)).toEqual([-1, 0, 6, 87])
    expect(rows[2]).toEqual({
      code: 6,
      name: 'NOT_LEADER_OR_FOLLOWER',
      retriable: true,
      exception: 'NotLeaderOrFollowerException',
      message: 'Not the leader.',
    })
  })

  it('refuses output it does not understand instead of generating a wrong table', () => {
    expect(() => parseErrorTable('87 INVALID_RECORD false')).toThrow(/unexpected line/)
    expect(() => parseErrorTable('x\tNONE\tfalse\t\t')).toThrow(/unexpected line/)
    expect(() => parseErrorTable('87\tINVALID_RECORD\tfalse\tX\tm')).toThrow(/no NONE/)
  })

  it('emits names and facts as TypeScript, quoting messages safely', () => {
    const text = emitErrorCodes(parseErrorTable(table), '4.4.0')
    expect(text).toContain('  INVALID_RECORD: 87,')
    expect(text).toContain('  UNKNOWN_SERVER_ERROR: -1,')
    expect(text).toContain(`message: "This record's bad."`)
    expect(text).toContain('DO NOT EDIT')
  })
})
