// CRM objects (both path families): list, get, create, update, archive and the five batch operations.
import { conflict, notFound, validationError } from './errors.js'
import { iso, nameList, parseProperties, presentRecord, type Changes } from './properties.js'
import { associationTypeById, type ObjectDef } from './schema.js'
import { boolParam, first, idText, intQuery, objectBody, type Ctx, type Reply } from './request.js'
import { lowerBound, type Rec, type Store } from './store.js'

const BATCH_LIMIT = 100
const HISTORY_BATCH_LIMIT = 50

function associationsOf(ctx: Ctx, rec: Rec, names: string[] | null): Record<string, unknown> | undefined {
  if (!names) return undefined
  const out: Record<string, unknown> = {}
  for (const name of names) {
    const toDef = ctx.objectType(name)
    const linked = ctx.store.associated(rec, toDef)
    if (!linked.length) continue
    out[toDef.name] = {
      results: linked.map(({ rec: to }) => ({ id: to.id, type: `${rec.def.singular}_to_${toDef.singular}` })),
    }
  }
  return Object.keys(out).length ? out : undefined
}

function present(ctx: Ctx, rec: Rec, properties: string[] | null): Record<string, unknown> {
  const out = presentRecord(rec, { properties, withHistory: nameList(ctx.query.propertiesWithHistory) })
  const associations = associationsOf(ctx, rec, nameList(ctx.query.associations))
  if (associations) out.associations = associations
  return out
}

/** Every property the record holds: what HubSpot echoes after a write. */
function allNames(rec: Rec): string[] {
  return Object.keys(rec.props)
}

export function listObjects(ctx: Ctx): Reply {
  const def = ctx.objectType(ctx.params[0]!)
  const limit = intQuery(ctx.query, 'limit', 10, 100)
  const archived = boolParam(ctx.query, 'archived')
  const after = first(ctx.query, 'after')
  if (after !== undefined && after !== '' && !/^\d+$/.test(after))
    throw validationError(`Invalid paging cursor: after=${after.slice(0, 50)}`)
  const properties = nameList(ctx.query.properties)
  const list = ctx.store.list(def)
  const results: Record<string, unknown>[] = []
  let i = after ? lowerBound(list, Number(after)) : 0
  for (; i < list.length && results.length < limit; i++) {
    if (list[i]!.archived === archived) results.push(present(ctx, list[i]!, properties))
  }
  while (i < list.length && list[i]!.archived !== archived) i++
  const body: Record<string, unknown> = { results }
  if (i < list.length) body.paging = { next: { after: list[i]!.id } }
  return { status: 200, body }
}

/** Finds a record by id or by a unique `idProperty`; archived ones only when asked for. */
function find(
  store: Store,
  def: ObjectDef,
  id: string,
  idProperty: string | undefined,
  archived = false,
): Rec | undefined {
  if (idProperty && idProperty !== 'hs_object_id') {
    if (!def.uniqueProperties.includes(idProperty)) {
      throw validationError(`${idProperty} is not a unique identifier property for ${def.name}`, [
        {
          message: `${idProperty} is not a unique property`,
          code: 'INVALID_ID_PROPERTY',
          context: { idProperty: [idProperty] },
        },
      ])
    }
    if (archived)
      return store.list(def).find((r) => r.archived && r.props[idProperty]?.toLowerCase() === id.toLowerCase())
    return store.findUnique(def, idProperty, id)
  }
  const rec = store.get(def, id)
  return rec && rec.archived === archived ? rec : undefined
}

export function getObject(ctx: Ctx): Reply {
  const def = ctx.objectType(ctx.params[0]!)
  const id = ctx.params[1]!
  const rec = find(ctx.store, def, id, first(ctx.query, 'idProperty'), boolParam(ctx.query, 'archived'))
  if (!rec) throw notFound(id)
  return { status: 200, body: present(ctx, rec, nameList(ctx.query.properties)) }
}

/** Fails the whole request before anything is written when a unique value is already taken. */
function checkUnique(
  store: Store,
  def: ObjectDef,
  changes: Changes,
  self: Rec | null,
  claimed?: Map<string, string>,
): void {
  for (const prop of def.uniqueProperties) {
    const value = changes[prop]
    if (value === undefined || value === null) continue
    const holder = store.findUnique(def, prop, value)
    if (holder && holder !== self) {
      const message =
        def.name === 'contacts'
          ? `Contact already exists. Existing ID: ${holder.id}`
          : `A ${def.singular} with ${prop} "${value}" already exists. Existing ID: ${holder.id}`
      throw conflict(message, holder.id)
    }
    const key = `${prop}\u0000${value.toLowerCase()}`
    if (claimed?.has(key)) throw validationError(`Duplicate value for unique property ${prop} in batch input: ${value}`)
    claimed?.set(key, self?.id ?? '')
  }
}

interface AssociationInput {
  to: Rec
  typeId: number
}

function parseAssociations(ctx: Ctx, def: ObjectDef, raw: unknown): AssociationInput[] {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) throw validationError('Invalid input JSON: associations must be an array')
  const out: AssociationInput[] = []
  for (const item of raw) {
    const a = objectBody(item)
    const toId = idText((a.to as Record<string, unknown> | undefined)?.id, 'associations[].to.id')
    if (!Array.isArray(a.types) || a.types.length === 0)
      throw validationError('associations[].types must be a non-empty array')
    for (const t of a.types) {
      const type = associationTypeById(Number((t as Record<string, unknown> | null)?.associationTypeId))
      if (!type || type.from !== def) {
        throw validationError(
          `Invalid association type id ${String((t as Record<string, unknown> | null)?.associationTypeId)} for ${def.name}`,
        )
      }
      const to = ctx.store.get(type.to, toId)
      if (!to || to.archived) throw validationError(`Association target ${type.to.name} ${toId} does not exist`)
      out.push({ to, typeId: type.typeId })
    }
  }
  return out
}

function applyAssociations(ctx: Ctx, rec: Rec, inputs: AssociationInput[]): void {
  for (const { to, typeId } of inputs) ctx.store.associate(rec, to, associationTypeById(typeId)!)
}

export function createObject(ctx: Ctx): Reply {
  const def = ctx.objectType(ctx.params[0]!)
  const body = objectBody(ctx.body)
  const changes = parseProperties(def, body.properties)
  ctx.validation.checkCreate(def, changes)
  checkUnique(ctx.store, def, changes, null)
  const associations = parseAssociations(ctx, def, body.associations)
  const rec = ctx.store.create(def, changes, ctx.now, ctx.source)
  applyAssociations(ctx, rec, associations)
  return { status: 201, body: presentRecord(rec, { properties: allNames(rec) }) }
}

export function updateObject(ctx: Ctx): Reply {
  const def = ctx.objectType(ctx.params[0]!)
  const id = ctx.params[1]!
  const body = objectBody(ctx.body)
  const rec = find(ctx.store, def, id, first(ctx.query, 'idProperty'))
  if (!rec) throw notFound(id)
  const changes = parseProperties(def, body.properties)
  checkUnique(ctx.store, def, changes, rec)
  ctx.store.update(rec, changes, ctx.now, ctx.source)
  return { status: 200, body: presentRecord(rec, { properties: allNames(rec) }) }
}

export function archiveObject(ctx: Ctx): Reply {
  const def = ctx.objectType(ctx.params[0]!)
  const rec = ctx.store.get(def, ctx.params[1]!)
  if (rec) ctx.store.archive(rec, ctx.now)
  return { status: 204 }
}

function batchInputs(
  body: Record<string, unknown>,
  limit = BATCH_LIMIT,
  what = 'a batch request',
): Record<string, unknown>[] {
  const inputs = body.inputs
  if (!Array.isArray(inputs)) throw validationError('Invalid input JSON: "inputs" must be an array')
  if (inputs.length > limit) {
    const message = `The maximum number of inputs supported in ${what} is ${limit}. ${inputs.length} inputs were provided.`
    throw validationError(message, [{ message, code: 'TOO_MANY_INPUTS' }])
  }
  return inputs.map((input) => objectBody(input))
}

function envelope(startedAt: number, results: unknown[], errors: unknown[] = []): Record<string, unknown> {
  const body: Record<string, unknown> = {
    status: 'COMPLETE',
    results,
    startedAt: iso(startedAt),
    completedAt: iso(Date.now()),
  }
  if (errors.length) Object.assign(body, { numErrors: errors.length, errors })
  return body
}

function missingError(def: ObjectDef, verb: string, ids: string[]): Record<string, unknown> {
  return {
    status: 'error',
    category: 'OBJECT_NOT_FOUND',
    context: { ids },
    message: `Could not ${verb} some ${def.name} objects, they may be deleted or not exist. Check that ids are valid.`,
  }
}

function rejectDuplicates(ids: string[]): void {
  const seen = new Set<string>()
  const dupes = ids.filter((id) => seen.has(id) || !seen.add(id))
  if (dupes.length)
    throw validationError(`Duplicate IDs found in batch input: [${[...new Set(dupes)].join(', ')}]. IDs must be unique`)
}

export function batchRead(ctx: Ctx): Reply {
  const def = ctx.objectType(ctx.params[0]!)
  const body = objectBody(ctx.body)
  const withHistory = stringList(body.propertiesWithHistory, 'propertiesWithHistory')
  const inputs = withHistory
    ? batchInputs(body, HISTORY_BATCH_LIMIT, 'a batch request for property histories')
    : batchInputs(body)
  const properties = stringList(body.properties, 'properties')
  const idProperty = body.idProperty === undefined ? undefined : idText(body.idProperty, 'idProperty')
  const archived = boolParam(ctx.query, 'archived')
  const results: unknown[] = []
  const missing: string[] = []
  const seen = new Set<string>()
  for (const input of inputs) {
    const id = idText(input.id)
    const rec = find(ctx.store, def, id, idProperty, archived)
    if (!rec) missing.push(id)
    else if (!seen.has(rec.id)) {
      seen.add(rec.id)
      results.push(presentRecord(rec, { properties, withHistory }))
    }
  }
  const errors = missing.length ? [missingError(def, 'get', missing)] : []
  return { status: errors.length ? 207 : 200, body: envelope(ctx.now, results, errors) }
}

function stringList(raw: unknown, what: string): string[] | null {
  if (raw === undefined || raw === null) return null
  if (!Array.isArray(raw) || raw.some((p) => typeof p !== 'string'))
    throw validationError(`Invalid input JSON: ${what} must be an array of strings`)
  return raw.length ? (raw as string[]) : null
}

export function batchCreate(ctx: Ctx): Reply {
  const def = ctx.objectType(ctx.params[0]!)
  const inputs = batchInputs(objectBody(ctx.body))
  const claimed = new Map<string, string>()
  const planned = inputs.map((input) => {
    const changes = parseProperties(def, input.properties)
    ctx.validation.checkCreate(def, changes)
    checkUnique(ctx.store, def, changes, null, claimed)
    return { changes, associations: parseAssociations(ctx, def, input.associations) }
  })
  const results = planned.map(({ changes, associations }) => {
    const rec = ctx.store.create(def, changes, ctx.now, ctx.source)
    applyAssociations(ctx, rec, associations)
    return presentRecord(rec, { properties: allNames(rec) })
  })
  return { status: 201, body: envelope(ctx.now, results) }
}

export function batchUpdate(ctx: Ctx): Reply {
  const def = ctx.objectType(ctx.params[0]!)
  const inputs = batchInputs(objectBody(ctx.body))
  rejectDuplicates(inputs.map((input) => idText(input.id)))
  const claimed = new Map<string, string>()
  const missing: string[] = []
  const planned: { rec: Rec; changes: Changes }[] = []
  for (const input of inputs) {
    const id = idText(input.id)
    const idProperty = input.idProperty === undefined ? undefined : idText(input.idProperty, 'idProperty')
    const changes = parseProperties(def, input.properties)
    const rec = find(ctx.store, def, id, idProperty)
    if (!rec) {
      missing.push(id)
      continue
    }
    checkUnique(ctx.store, def, changes, rec, claimed)
    planned.push({ rec, changes })
  }
  const results = planned.map(({ rec, changes }) => {
    ctx.store.update(rec, changes, ctx.now, ctx.source)
    return presentRecord(rec, { properties: allNames(rec) })
  })
  const errors = missing.length ? [missingError(def, 'update', missing)] : []
  return { status: errors.length ? 207 : 200, body: envelope(ctx.now, results, errors) }
}

export function batchUpsert(ctx: Ctx): Reply {
  const def = ctx.objectType(ctx.params[0]!)
  const inputs = batchInputs(objectBody(ctx.body))
  // The 2026-03 reference names the unique property in the `idProperty` query parameter; an
  // input's own `idProperty` (the only way in v3) still wins.
  const defaultIdProperty = ctx.family === '2026-03' ? first(ctx.query, 'idProperty') : undefined
  const planned = inputs.map((input) => {
    const idProperty = idText(input.idProperty ?? defaultIdProperty, 'idProperty')
    if (!def.uniqueProperties.includes(idProperty)) {
      throw validationError(`${idProperty} is not a unique identifier property for ${def.name}`)
    }
    const id = idText(input.id)
    const changes = parseProperties(def, input.properties)
    return {
      key: `${idProperty}\u0000${id.toLowerCase()}`,
      idProperty,
      id,
      changes,
      traceId: typeof input.objectWriteTraceId === 'string' ? input.objectWriteTraceId : undefined,
      rec: ctx.store.findUnique(def, idProperty, id) ?? null,
    }
  })
  rejectDuplicates(planned.map((p) => p.key))
  // Validated before anything is written: one refused input refuses the whole batch.
  for (const p of planned) if (p.rec === null) ctx.validation.checkCreate(def, { ...p.changes, [p.idProperty]: p.id })
  const claimed = new Map<string, string>()
  for (const p of planned) checkUnique(ctx.store, def, { ...p.changes, [p.idProperty]: p.id }, p.rec, claimed)
  const results = planned.map(({ idProperty, id, changes, rec, traceId }) => {
    const isNew = rec === null
    const target = rec ?? ctx.store.create(def, { ...changes, [idProperty]: id }, ctx.now, ctx.source)
    if (!isNew) ctx.store.update(target, changes, ctx.now, ctx.source)
    const result = { ...presentRecord(target, { properties: allNames(target) }), new: isNew }
    return traceId === undefined ? result : { ...result, objectWriteTraceId: traceId }
  })
  return { status: 200, body: envelope(ctx.now, results) }
}

export function batchArchive(ctx: Ctx): Reply {
  const def = ctx.objectType(ctx.params[0]!)
  const inputs = batchInputs(objectBody(ctx.body))
  const ids = inputs.map((input) => idText(input.id))
  for (const id of ids) {
    const rec = ctx.store.get(def, id)
    if (rec) ctx.store.archive(rec, ctx.now)
  }
  return { status: 204 }
}
