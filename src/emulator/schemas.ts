// Object schemas and property definitions: how a client discovers the custom objects' `2-…` ids.
import { resourceNotFound } from './errors.js'
import { ASSOCIATION_TYPES, OBJECT_DEFS, type ObjectDef, type PropertyDef } from './schema.js'
import type { Ctx, Reply } from './request.js'

const CREATED = '2025-01-06T15:00:00.000Z'

function fieldType(prop: PropertyDef): string {
  return prop.type === 'string' ? 'text' : prop.type === 'number' ? 'number' : 'date'
}

function property(def: ObjectDef, prop: PropertyDef): Record<string, unknown> {
  return {
    name: prop.name,
    label: prop.label,
    type: prop.type,
    fieldType: fieldType(prop),
    description: '',
    groupName: def.custom ? `${def.singular}_information` : 'contactinformation',
    options: [],
    displayOrder: -1,
    calculated: false,
    externalOptions: false,
    hasUniqueValue: prop.unique,
    hidden: false,
    formField: !prop.readOnly,
    archived: false,
    createdAt: CREATED,
    updatedAt: CREATED,
    modificationMetadata: {
      archivable: !prop.readOnly,
      readOnlyDefinition: prop.readOnly,
      readOnlyValue: prop.readOnly,
    },
  }
}

function schema(def: ObjectDef, portalId: number): Record<string, unknown> {
  return {
    id: def.objectTypeId.split('-')[1],
    objectTypeId: def.objectTypeId,
    name: def.name,
    fullyQualifiedName: `p${portalId}_${def.name}`,
    labels: def.labels,
    primaryDisplayProperty: def.primaryDisplayProperty,
    secondaryDisplayProperties: [],
    requiredProperties: [def.primaryDisplayProperty],
    searchableProperties: def.queryProperties,
    properties: [...def.properties.values()].map((p) => property(def, p)),
    associations: ASSOCIATION_TYPES.filter((t) => t.from === def).map((t) => ({
      id: String(t.typeId),
      fromObjectTypeId: t.from.objectTypeId,
      toObjectTypeId: t.to.objectTypeId,
      name: `${t.from.singular}_to_${t.to.singular}`,
      createdAt: CREATED,
      updatedAt: CREATED,
    })),
    archived: false,
    createdAt: CREATED,
    updatedAt: CREATED,
    portalId,
  }
}

export function schemasHandlers(portalId: number) {
  return {
    list(): Reply {
      return { status: 200, body: { results: OBJECT_DEFS.filter((d) => d.custom).map((d) => schema(d, portalId)) } }
    },
    get(ctx: Ctx): Reply {
      const def = ctx.objectType(ctx.params[0]!)
      if (!def.custom) throw resourceNotFound()
      return { status: 200, body: schema(def, portalId) }
    },
    properties(ctx: Ctx): Reply {
      const def = ctx.objectType(ctx.params[0]!)
      return { status: 200, body: { results: [...def.properties.values()].map((p) => property(def, p)) } }
    },
  }
}
