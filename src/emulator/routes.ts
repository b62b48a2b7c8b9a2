// The route table: each HubSpot route's template (the key used in stats), its limit class and handler.
import {
  batchArchiveAssociations,
  batchAssociateDefault,
  batchCreateAssociations,
  batchReadAssociations,
  createDefault,
  createLabelled,
  readAssociations,
  removeAssociation,
} from './associations.js'
import type { CallKind } from './limits.js'
import {
  archiveObject,
  batchArchive,
  batchCreate,
  batchRead,
  batchUpdate,
  batchUpsert,
  createObject,
  getObject,
  listObjects,
  updateObject,
} from './objects.js'
import type { ApiFamily, Ctx, Reply } from './request.js'
import { schemasHandlers } from './schemas.js'
import { runSearch } from './search.js'

export interface Route {
  method: string
  template: string
  /** `METHOD /template`, the key in stats.byRoute */
  statKey: string
  parts: string[]
  kind: CallKind
  family: ApiFamily
  handler: (ctx: Ctx) => Reply
}

type Extra = { usage(ctx: Ctx): Reply }

/** One operation, its legacy path and its date-versioned path (null: only one family has it). */
type Def = [method: string, v3: string, dated: string | null, handler: (ctx: Ctx) => Reply, kind?: CallKind]

const OBJ = '/crm/objects/2026-03'
const ASSOC = '/crm/associations/2026-03'

export function buildRoutes(portalId: number, extra: Extra): Map<string, Route[]> {
  const schemas = schemasHandlers(portalId)
  const search = (ctx: Ctx): Reply => ({
    status: 200,
    body: runSearch(ctx.store, ctx.objectType(ctx.params[0]!), ctx.body, ctx.now),
  })
  const defs: Def[] = [
    ['GET', '/crm/v3/schemas', '/crm-object-schemas/2026-03/schemas', schemas.list],
    ['GET', '/crm/v3/schemas/:type', '/crm-object-schemas/2026-03/schemas/:type', schemas.get],
    ['GET', '/crm-object-schemas/v3/schemas', null, schemas.list],
    ['GET', '/crm-object-schemas/v3/schemas/:type', null, schemas.get],
    ['GET', '/crm/v3/properties/:type', '/crm/properties/2026-03/:type', schemas.properties],
    ['GET', '/account-info/v3/api-usage/daily/private-apps', null, extra.usage],
    ['POST', '/crm/v3/objects/:type/search', `${OBJ}/:type/search`, search, 'search'],
    ['POST', '/crm/v3/objects/:type/batch/read', `${OBJ}/:type/batch/read`, batchRead],
    ['POST', '/crm/v3/objects/:type/batch/create', `${OBJ}/:type/batch/create`, batchCreate],
    ['POST', '/crm/v3/objects/:type/batch/update', `${OBJ}/:type/batch/update`, batchUpdate],
    ['POST', '/crm/v3/objects/:type/batch/upsert', `${OBJ}/:type/batch/upsert`, batchUpsert],
    ['POST', '/crm/v3/objects/:type/batch/archive', `${OBJ}/:type/batch/archive`, batchArchive],
    ['GET', '/crm/v3/objects/:type', `${OBJ}/:type`, listObjects],
    ['POST', '/crm/v3/objects/:type', `${OBJ}/:type`, createObject],
    ['GET', '/crm/v3/objects/:type/:id', `${OBJ}/:type/:id`, getObject],
    ['PATCH', '/crm/v3/objects/:type/:id', `${OBJ}/:type/:id`, updateObject],
    ['DELETE', '/crm/v3/objects/:type/:id', `${OBJ}/:type/:id`, archiveObject],
    [
      'PUT',
      '/crm/v4/objects/:type/:id/associations/default/:toType/:toId',
      `${OBJ}/:type/:id/associations/default/:toType/:toId`,
      createDefault,
    ],
    [
      'PUT',
      '/crm/v4/objects/:type/:id/associations/:toType/:toId',
      `${OBJ}/:type/:id/associations/:toType/:toId`,
      createLabelled,
    ],
    [
      'DELETE',
      '/crm/v4/objects/:type/:id/associations/:toType/:toId',
      `${OBJ}/:type/:id/associations/:toType/:toId`,
      removeAssociation,
    ],
    [
      'GET',
      '/crm/v4/objects/:type/:id/associations/:toType',
      `${OBJ}/:type/:id/associations/:toType`,
      readAssociations,
    ],
    [
      'POST',
      '/crm/v4/associations/:fromType/:toType/batch/read',
      `${ASSOC}/:fromType/:toType/batch/read`,
      batchReadAssociations,
      'burst-exempt',
    ],
    [
      'POST',
      '/crm/v4/associations/:fromType/:toType/batch/associate/default',
      `${ASSOC}/:fromType/:toType/batch/associate/default`,
      batchAssociateDefault,
      'burst-exempt',
    ],
    [
      'POST',
      '/crm/v4/associations/:fromType/:toType/batch/create',
      `${ASSOC}/:fromType/:toType/batch/create`,
      batchCreateAssociations,
      'burst-exempt',
    ],
    [
      'POST',
      '/crm/v4/associations/:fromType/:toType/batch/archive',
      `${ASSOC}/:fromType/:toType/batch/archive`,
      batchArchiveAssociations,
      'burst-exempt',
    ],
  ]
  const table = new Map<string, Route[]>()
  const add = (method: string, template: string, family: ApiFamily, handler: Route['handler'], kind: CallKind) => {
    const routes = table.get(method) ?? []
    routes.push({
      method,
      template,
      statKey: `${method} ${template}`,
      parts: template.split('/'),
      kind,
      family,
      handler,
    })
    table.set(method, routes)
  }
  for (const [method, v3, dated, handler, kind = 'standard'] of defs) {
    add(method, v3, 'v3', handler, kind)
    if (dated) add(method, dated, '2026-03', handler, kind)
  }
  return table
}

/** Literal segments must match; `:name` segments are captured into `params`. */
export function matchRoute(routes: Route[] | undefined, parts: string[], params: string[]): Route | null {
  if (!routes) return null
  outer: for (const route of routes) {
    const tpl = route.parts
    if (tpl.length !== parts.length) continue
    params.length = 0
    for (let i = 1; i < tpl.length; i++) {
      const t = tpl[i]!
      if (t.charCodeAt(0) === 58) params.push(parts[i]!)
      else if (t !== parts[i]) continue outer
    }
    return route
  }
  return null
}

/** Whether any method serves this path, to tell a 405 from a 404. */
export function pathExists(table: Map<string, Route[]>, parts: string[]): boolean {
  for (const routes of table.values()) if (matchRoute(routes, parts, [])) return true
  return false
}
