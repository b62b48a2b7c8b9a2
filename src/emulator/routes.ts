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
import type { Ctx, Reply } from './request.js'
import { schemasHandlers } from './schemas.js'
import { runSearch } from './search.js'

export interface Route {
  method: string
  template: string
  /** `METHOD /template`, the key in stats.byRoute */
  statKey: string
  parts: string[]
  kind: CallKind
  handler: (ctx: Ctx) => Reply
}

type Extra = { usage(ctx: Ctx): Reply }

export function buildRoutes(portalId: number, extra: Extra): Map<string, Route[]> {
  const schemas = schemasHandlers(portalId)
  const search = (ctx: Ctx): Reply => ({
    status: 200,
    body: runSearch(ctx.store, ctx.objectType(ctx.params[0]!), ctx.body, ctx.now),
  })
  const defs: [string, string, (ctx: Ctx) => Reply, CallKind?][] = [
    ['GET', '/crm/v3/schemas', schemas.list],
    ['GET', '/crm/v3/schemas/:type', schemas.get],
    ['GET', '/crm-object-schemas/v3/schemas', schemas.list],
    ['GET', '/crm-object-schemas/v3/schemas/:type', schemas.get],
    ['GET', '/crm/v3/properties/:type', schemas.properties],
    ['GET', '/account-info/v3/api-usage/daily/private-apps', extra.usage],
    ['POST', '/crm/v3/objects/:type/search', search, 'search'],
    ['POST', '/crm/v3/objects/:type/batch/read', batchRead],
    ['POST', '/crm/v3/objects/:type/batch/create', batchCreate],
    ['POST', '/crm/v3/objects/:type/batch/update', batchUpdate],
    ['POST', '/crm/v3/objects/:type/batch/upsert', batchUpsert],
    ['POST', '/crm/v3/objects/:type/batch/archive', batchArchive],
    ['GET', '/crm/v3/objects/:type', listObjects],
    ['POST', '/crm/v3/objects/:type', createObject],
    ['GET', '/crm/v3/objects/:type/:id', getObject],
    ['PATCH', '/crm/v3/objects/:type/:id', updateObject],
    ['DELETE', '/crm/v3/objects/:type/:id', archiveObject],
    ['PUT', '/crm/v4/objects/:type/:id/associations/default/:toType/:toId', createDefault],
    ['PUT', '/crm/v4/objects/:type/:id/associations/:toType/:toId', createLabelled],
    ['DELETE', '/crm/v4/objects/:type/:id/associations/:toType/:toId', removeAssociation],
    ['GET', '/crm/v4/objects/:type/:id/associations/:toType', readAssociations],
    ['POST', '/crm/v4/associations/:fromType/:toType/batch/read', batchReadAssociations, 'burst-exempt'],
    ['POST', '/crm/v4/associations/:fromType/:toType/batch/associate/default', batchAssociateDefault, 'burst-exempt'],
    ['POST', '/crm/v4/associations/:fromType/:toType/batch/create', batchCreateAssociations, 'burst-exempt'],
    ['POST', '/crm/v4/associations/:fromType/:toType/batch/archive', batchArchiveAssociations, 'burst-exempt'],
  ]
  const table = new Map<string, Route[]>()
  for (const [method, template, handler, kind = 'standard'] of defs) {
    const routes = table.get(method) ?? []
    routes.push({ method, template, statKey: `${method} ${template}`, parts: template.split('/'), kind, handler })
    table.set(method, routes)
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
