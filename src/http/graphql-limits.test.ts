import { getOperationAST, parse } from 'graphql'
import { describe, expect, it } from 'vitest'
import { measureOperation } from './graphql-limits.js'

const limits = { maxCost: 2_000, maxFields: 500, maxAliases: 30 }
const measure = (query: string, variables?: Record<string, unknown>, custom = limits) => {
  const document = parse(query)
  return measureOperation(document, getOperationAST(document)!, variables, custom)
}

describe('measureOperation', () => {
  it('counts each field 1, lists 10 and changes its limit', () => {
    expect(measure('{ exams { hubspot_id capacity } }')).toEqual({ ok: true, cost: 12, fields: 3, aliases: 0 })
    expect(measure('{ changes(after: "0", limit: 1000) { events { seq } cursor } }')).toMatchObject({
      ok: true,
      cost: 1003,
    })
    // The schema's default limit, and a limit given as a variable.
    expect(measure('{ changes(after: "0") { cursor } }')).toMatchObject({ ok: true, cost: 101 })
    expect(measure('query ($l: Int) { changes(after: "0", limit: $l) { cursor } }', { l: 700 })).toMatchObject({
      cost: 701,
    })
  })

  it('refuses alias amplification by cost and by alias count', () => {
    const aliased = (n: number, limit = 1000) =>
      `{ ${Array.from({ length: n }, (_, i) => `a${i}: changes(after: "0", limit: ${limit}) { events { seq } }`).join(' ')} }`
    expect(measure(aliased(300, 1))).toMatchObject({ ok: false, reason: 'aliases' })
    expect(measure(aliased(300))).toMatchObject({ ok: false, reason: 'cost' })
    expect(measure(aliased(3))).toMatchObject({ ok: false, reason: 'cost' })
    expect(measure(aliased(3, 1), undefined, { ...limits, maxAliases: 0 })).toMatchObject({
      ok: false,
      reason: 'aliases',
    })
    expect(measure(aliased(2, 900))).toMatchObject({ ok: true, aliases: 2 })
  })

  it('expands fragments, so a short text that fans out is measured as it would run, and stops early', () => {
    const fields = Array.from({ length: 20 }, () => 'seq').join(' ')
    const spreads = Array.from({ length: 40 }, (_, i) => `e${i}: events { ...F }`).join(' ')
    const query = `{ changes(after: "0", limit: 1) { ${spreads} } } fragment F on ChangeEvent { ${fields} }`
    expect(measure(query, undefined, { ...limits, maxAliases: 100 })).toMatchObject({ ok: false, reason: 'fields' })
    expect(measure('{ exams { ...A } } fragment A on Exam { ... on Exam { hubspot_id } }')).toMatchObject({
      ok: true,
      fields: 2,
    })
  })
})
