// Associations (v4 and 2026-03 paths): default and labelled create, per-record read with paging, and the batch endpoints.
import { notFound, validationError } from './errors.js'
import { iso } from './properties.js'
import { associationTypeById, defaultAssociationType, type AssociationType, type ObjectDef } from './schema.js'
import { first, idText, objectBody, type Ctx, type Reply } from './request.js'
import type { Rec } from './store.js'

const READ_PAGE_LIMIT = 500
const BATCH_READ_LIMIT = 1000
const BATCH_CREATE_LIMIT = 2000

function active(ctx: Ctx, def: ObjectDef, id: string): Rec {
  const rec = ctx.store.get(def, id)
  if (!rec || rec.archived) throw notFound(id)
  return rec
}

function pairDefault(from: ObjectDef, to: ObjectDef): AssociationType {
  const type = defaultAssociationType(from, to)
  if (!type) throw validationError(`No association is defined between ${from.name} and ${to.name}`)
  return type
}

function spec(type: AssociationType): Record<string, unknown> {
  return { associationCategory: type.category, associationTypeId: type.typeId }
}

function reverseOf(type: AssociationType): AssociationType | undefined {
  return defaultAssociationType(type.to, type.from)
}

function defaultResults(from: Rec, to: Rec, type: AssociationType): unknown[] {
  const results = [{ from: { id: from.id }, to: { id: to.id }, associationSpec: spec(type) }]
  const reverse = reverseOf(type)
  if (reverse) results.push({ from: { id: to.id }, to: { id: from.id }, associationSpec: spec(reverse) })
  return results
}

function batchEnvelope(ctx: Ctx, results: unknown[], errors: unknown[] = []): Record<string, unknown> {
  const body: Record<string, unknown> = {
    status: 'COMPLETE',
    results,
    startedAt: iso(ctx.now),
    completedAt: iso(Date.now()),
  }
  if (errors.length) Object.assign(body, { numErrors: errors.length, errors })
  return body
}

/** PUT /crm/v4/objects/:from/:fromId/associations/default/:to/:toId */
export function createDefault(ctx: Ctx): Reply {
  const fromDef = ctx.objectType(ctx.params[0]!)
  const toDef = ctx.objectType(ctx.params[2]!)
  const type = pairDefault(fromDef, toDef)
  const from = active(ctx, fromDef, ctx.params[1]!)
  const to = active(ctx, toDef, ctx.params[3]!)
  ctx.store.associate(from, to, type)
  return { status: 200, body: batchEnvelope(ctx, defaultResults(from, to, type)) }
}

function parseTypes(raw: unknown, fromDef: ObjectDef, toDef: ObjectDef): AssociationType[] {
  if (!Array.isArray(raw) || raw.length === 0)
    throw validationError('Invalid input JSON: expected a non-empty array of association specs')
  return raw.map((item) => {
    const s = objectBody(item)
    const type = associationTypeById(Number(s.associationTypeId))
    if (!type || type.from !== fromDef || type.to !== toDef) {
      throw validationError(
        `Invalid associationTypeId ${String(s.associationTypeId)} from ${fromDef.name} to ${toDef.name}`,
      )
    }
    if (s.associationCategory !== undefined && s.associationCategory !== type.category) {
      throw validationError(`Invalid associationCategory ${String(s.associationCategory)} for type ${type.typeId}`)
    }
    return type
  })
}

/** PUT /crm/v4/objects/:from/:fromId/associations/:to/:toId with a body of association specs */
export function createLabelled(ctx: Ctx): Reply {
  const fromDef = ctx.objectType(ctx.params[0]!)
  const toDef = ctx.objectType(ctx.params[2]!)
  const types = parseTypes(ctx.body, fromDef, toDef)
  const from = active(ctx, fromDef, ctx.params[1]!)
  const to = active(ctx, toDef, ctx.params[3]!)
  for (const type of types) ctx.store.associate(from, to, type)
  return {
    status: 201,
    body: {
      fromObjectTypeId: fromDef.objectTypeId,
      fromObjectId: Number(from.id),
      toObjectTypeId: toDef.objectTypeId,
      toObjectId: Number(to.id),
      labels: [],
    },
  }
}

/** DELETE /crm/v4/objects/:from/:fromId/associations/:to/:toId */
export function removeAssociation(ctx: Ctx): Reply {
  const fromDef = ctx.objectType(ctx.params[0]!)
  const toDef = ctx.objectType(ctx.params[2]!)
  const from = ctx.store.get(fromDef, ctx.params[1]!)
  const to = ctx.store.get(toDef, ctx.params[3]!)
  if (from && to) ctx.store.dissociate(from, to)
  return { status: 204 }
}

function associatedPage(
  ctx: Ctx,
  from: Rec,
  toDef: ObjectDef,
  after: number,
  limit: number,
): { results: unknown[]; next: number | null } {
  const linked = ctx.store.associated(from, toDef)
  const results = linked.slice(after, after + limit).map(({ rec, types }) => ({
    // The 2026-03 reference types it as a string; the v4 docs' examples (and clients of them) use numbers.
    toObjectId: ctx.family === '2026-03' ? rec.id : Number(rec.id),
    associationTypes: types.map((t) => ({ category: t.category, typeId: t.typeId, label: null })),
  }))
  return { results, next: after + limit < linked.length ? after + limit : null }
}

function offset(raw: unknown): number {
  if (raw === undefined || raw === null || raw === '') return 0
  const text = String(raw)
  if (!/^\d+$/.test(text)) throw validationError(`Invalid paging cursor: after=${text.slice(0, 50)}`)
  return Number(text)
}

/** GET /crm/v4/objects/:from/:fromId/associations/:to */
export function readAssociations(ctx: Ctx): Reply {
  const fromDef = ctx.objectType(ctx.params[0]!)
  const toDef = ctx.objectType(ctx.params[2]!)
  const from = active(ctx, fromDef, ctx.params[1]!)
  const rawLimit = first(ctx.query, 'limit')
  const limit = rawLimit === undefined || rawLimit === '' ? READ_PAGE_LIMIT : Number(rawLimit)
  if (!Number.isInteger(limit) || limit < 1 || limit > READ_PAGE_LIMIT) {
    throw validationError(`limit must be an integer from 1 to ${READ_PAGE_LIMIT}`)
  }
  const page = associatedPage(ctx, from, toDef, offset(first(ctx.query, 'after')), limit)
  const body: Record<string, unknown> = { results: page.results }
  if (page.next !== null) body.paging = { next: { after: String(page.next) } }
  return { status: 200, body }
}

function inputs(ctx: Ctx, limit: number): Record<string, unknown>[] {
  const raw = objectBody(ctx.body).inputs
  if (!Array.isArray(raw)) throw validationError('Invalid input JSON: "inputs" must be an array')
  if (raw.length > limit) {
    throw validationError(`Batch input limit exceeded: got ${raw.length} inputs, the maximum is ${limit}`, [
      { message: `The maximum number of inputs supported in a batch request is ${limit}`, code: 'TOO_MANY_INPUTS' },
    ])
  }
  return raw.map((input) => objectBody(input))
}

function nestedId(value: unknown, what: string): string {
  return idText((value as Record<string, unknown> | null | undefined)?.id, what)
}

/** POST /crm/v4/associations/:from/:to/batch/read */
export function batchReadAssociations(ctx: Ctx): Reply {
  const fromDef = ctx.objectType(ctx.params[0]!)
  const toDef = ctx.objectType(ctx.params[1]!)
  const results: unknown[] = []
  const missing: string[] = []
  for (const input of inputs(ctx, BATCH_READ_LIMIT)) {
    const id = idText(input.id)
    const from = ctx.store.get(fromDef, id)
    if (!from || from.archived) {
      missing.push(id)
      continue
    }
    const page = associatedPage(ctx, from, toDef, offset(input.after), READ_PAGE_LIMIT)
    const result: Record<string, unknown> = { from: { id }, to: page.results }
    if (page.next !== null) result.paging = { next: { after: String(page.next) } }
    results.push(result)
  }
  const errors = missing.length
    ? [
        {
          status: 'error',
          category: 'OBJECT_NOT_FOUND',
          message: `No ${fromDef.name} found for ids: ${missing.join(', ')}`,
          context: { ids: missing },
        },
      ]
    : []
  return { status: errors.length ? 207 : 200, body: batchEnvelope(ctx, results, errors) }
}

function pairs(
  ctx: Ctx,
  fromDef: ObjectDef,
  toDef: ObjectDef,
): { from: Rec; to: Rec; input: Record<string, unknown> }[] {
  return inputs(ctx, BATCH_CREATE_LIMIT).map((input) => ({
    from: active(ctx, fromDef, nestedId(input.from, 'from.id')),
    to: active(ctx, toDef, nestedId(input.to, 'to.id')),
    input,
  }))
}

/** POST /crm/v4/associations/:from/:to/batch/associate/default */
export function batchAssociateDefault(ctx: Ctx): Reply {
  const fromDef = ctx.objectType(ctx.params[0]!)
  const toDef = ctx.objectType(ctx.params[1]!)
  const type = pairDefault(fromDef, toDef)
  const results = pairs(ctx, fromDef, toDef).flatMap(({ from, to }) => {
    ctx.store.associate(from, to, type)
    return defaultResults(from, to, type)
  })
  return { status: 200, body: batchEnvelope(ctx, results) }
}

/** POST /crm/v4/associations/:from/:to/batch/create */
export function batchCreateAssociations(ctx: Ctx): Reply {
  const fromDef = ctx.objectType(ctx.params[0]!)
  const toDef = ctx.objectType(ctx.params[1]!)
  const planned = pairs(ctx, fromDef, toDef).map((p) => ({ ...p, types: parseTypes(p.input.types, fromDef, toDef) }))
  const results = planned.map(({ from, to, types }) => {
    for (const type of types) ctx.store.associate(from, to, type)
    return {
      fromObjectTypeId: fromDef.objectTypeId,
      fromObjectId: Number(from.id),
      toObjectTypeId: toDef.objectTypeId,
      toObjectId: Number(to.id),
      labels: [],
    }
  })
  return { status: 201, body: batchEnvelope(ctx, results) }
}

/** POST /crm/v4/associations/:from/:to/batch/archive with `{inputs:[{from:{id}, to:[{id}]}]}` */
export function batchArchiveAssociations(ctx: Ctx): Reply {
  const fromDef = ctx.objectType(ctx.params[0]!)
  const toDef = ctx.objectType(ctx.params[1]!)
  for (const input of inputs(ctx, BATCH_CREATE_LIMIT)) {
    const from = ctx.store.get(fromDef, nestedId(input.from, 'from.id'))
    const targets = Array.isArray(input.to) ? input.to : [input.to]
    for (const target of targets) {
      const to = ctx.store.get(toDef, nestedId(target, 'to[].id'))
      if (from && to) ctx.store.dissociate(from, to)
    }
  }
  return { status: 204 }
}
