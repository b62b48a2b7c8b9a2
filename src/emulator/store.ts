// The in-memory CRM: records with their indexes, associations, and the lagging view that search sees.
import { ASSOCIATION_TYPES, OBJECT_DEFS, associationTypeById, type AssociationType, type ObjectDef } from './schema.js'

export type Props = Readonly<Record<string, string>>

/** What search sees of a record; it trails the record by the configured index lag. */
export interface View {
  props: Props
  updatedAt: number
  archived: boolean
  /** lower-cased free-text fields, built on a version's first `query` search */
  text?: string
}

/** Who wrote a property version, as HubSpot's property history says it. */
export interface WriteSource {
  sourceType: string
  sourceId?: string
  updatedByUserId?: number
}

/** One version of a property, newest first in a record's history. */
export interface PropertyVersion extends WriteSource {
  value: string
  timestamp: number
}

/** Versions kept per property: enough for "who changed this", bounded so a busy record cannot grow without end. */
export const HISTORY_VERSIONS = 20

/** Records written before sources were tracked (the seed, saved state) were written "by the API". */
const UNKNOWN_SOURCE: WriteSource = { sourceType: 'API' }

export interface Rec {
  id: string
  num: number
  def: ObjectDef
  /** replaced, never mutated, so a View can share it */
  props: Props
  createdAt: number
  updatedAt: number
  archived: boolean
  archivedAt: number | null
  /** null while the record's creation is not yet visible to search */
  view: View | null
  /** who created it (its first versions); absent: UNKNOWN_SOURCE */
  createdBy?: WriteSource
  /** property → versions after the first, newest first; only for properties changed since creation */
  history?: Map<string, PropertyVersion[]>
}

/**
 * A property's versions, newest first: those recorded by updates, ending with the value it was
 * created with (kept implicitly, so that a record never updated costs no memory for its history).
 */
export function propertyHistory(rec: Rec, name: string): PropertyVersion[] {
  const recorded = rec.history?.get(name)
  if (recorded) return recorded
  const value = rec.props[name]
  return value === undefined ? [] : [{ value, timestamp: rec.createdAt, ...(rec.createdBy ?? UNKNOWN_SOURCE) }]
}

interface PendingView {
  at: number
  rec: Rec
  view: View
}

const FIRST_ID = 30_000_000_001

export interface SavedState {
  version: 1
  nextId: number
  records: [typeId: string, id: string, createdAt: number, updatedAt: number, archivedAt: number | null, props: Props][]
  associations: [fromId: string, typeId: number, toId: string][]
}

export class Store {
  nextId = FIRST_ID
  readonly byId = new Map<string, Rec>()
  readonly lists = new Map<ObjectDef, Rec[]>()
  /** def → property → lower-cased value → the active record holding it */
  readonly #unique = new Map<ObjectDef, Map<string, Map<string, Rec>>>()
  /** fromId → association type id → toIds (insertion-ordered) */
  readonly #assoc = new Map<string, Map<number, Set<string>>>()
  #pending: PendingView[] = []
  #pendingHead = 0
  /** bumped on every change, so persistence knows when to save */
  generation = 0

  constructor(public searchLagMs = 0) {
    this.clear()
  }

  clear(): void {
    this.nextId = FIRST_ID
    this.byId.clear()
    this.#assoc.clear()
    this.#pending = []
    this.#pendingHead = 0
    for (const def of OBJECT_DEFS) {
      this.lists.set(def, [])
      this.#unique.set(def, new Map(def.uniqueProperties.map((p) => [p, new Map<string, Rec>()])))
    }
    this.generation++
  }

  list(def: ObjectDef): Rec[] {
    return this.lists.get(def)!
  }

  get(def: ObjectDef, id: string): Rec | undefined {
    const rec = this.byId.get(id)
    return rec && rec.def === def ? rec : undefined
  }

  findUnique(def: ObjectDef, prop: string, value: string): Rec | undefined {
    return this.#unique.get(def)?.get(prop)?.get(value.toLowerCase())
  }

  /** Empty and null values are simply absent, as on HubSpot. */
  create(def: ObjectDef, input: Readonly<Record<string, string | null>>, now: number, source?: WriteSource): Rec {
    const props: Record<string, string> = {}
    for (const name in input) {
      const value = input[name]
      if (value !== null && value !== undefined && value !== '') props[name] = value
    }
    const num = this.nextId++
    const rec: Rec = {
      id: String(num),
      num,
      def,
      props,
      createdAt: now,
      updatedAt: now,
      archived: false,
      archivedAt: null,
      view: null,
    }
    if (source) rec.createdBy = source
    this.byId.set(rec.id, rec)
    this.list(def).push(rec)
    this.#indexUnique(rec, null, props)
    this.#publish(rec, now)
    return rec
  }

  /** `null` or '' clears a property. The modification time strictly increases per record. */
  update(rec: Rec, changes: Record<string, string | null>, now: number, source: WriteSource = UNKNOWN_SOURCE): void {
    const next: Record<string, string> = { ...rec.props }
    for (const [name, value] of Object.entries(changes)) {
      if (value === null || value === '') delete next[name]
      else next[name] = value
    }
    const updatedAt = Math.max(now, rec.updatedAt + 1)
    // HubSpot records a version for each property a write set to another value (a cleared one as "").
    for (const name of Object.keys(changes)) {
      if (next[name] === rec.props[name]) continue
      const versions = [
        { value: next[name] ?? '', timestamp: updatedAt, ...source },
        ...propertyHistory(rec, name),
      ].slice(0, HISTORY_VERSIONS)
      ;(rec.history ??= new Map()).set(name, versions)
    }
    this.#indexUnique(rec, rec.props, next)
    rec.props = next
    rec.updatedAt = updatedAt
    this.#publish(rec, now)
  }

  /** Archiving leaves the modification time alone, as HubSpot does. */
  archive(rec: Rec, now: number): void {
    if (rec.archived) return
    this.#indexUnique(rec, rec.props, null)
    rec.archived = true
    rec.archivedAt = now
    this.#publish(rec, now)
  }

  #indexUnique(rec: Rec, before: Props | null, after: Props | null): void {
    const indexes = this.#unique.get(rec.def)!
    for (const [prop, index] of indexes) {
      const old = before?.[prop]
      const value = after?.[prop]
      if (old === value) continue
      if (old !== undefined && index.get(old.toLowerCase()) === rec) index.delete(old.toLowerCase())
      if (value !== undefined) index.set(value.toLowerCase(), rec)
    }
  }

  #publish(rec: Rec, now: number): void {
    this.generation++
    const view: View = { props: rec.props, updatedAt: rec.updatedAt, archived: rec.archived }
    if (this.searchLagMs <= 0) rec.view = view
    else this.#pending.push({ at: now, rec, view })
  }

  /** Makes visible to search every change older than the lag. */
  settleViews(now: number): void {
    const horizon = now - this.searchLagMs
    const queue = this.#pending
    let head = this.#pendingHead
    while (head < queue.length && (this.searchLagMs <= 0 || queue[head]!.at <= horizon)) {
      const entry = queue[head++]!
      entry.rec.view = entry.view
    }
    if (head > 1024 && head * 2 > queue.length) {
      this.#pending = queue.slice(head)
      head = 0
    }
    this.#pendingHead = head
  }

  associate(from: Rec, to: Rec, type: AssociationType): void {
    this.#link(from.id, type.typeId, to.id)
    const reverse = ASSOCIATION_TYPES.find((t) => t.from === type.to && t.to === type.from)
    if (reverse) this.#link(to.id, reverse.typeId, from.id)
    this.generation++
  }

  dissociate(from: Rec, to: Rec): void {
    for (const [a, b] of [
      [from, to],
      [to, from],
    ] as const) {
      for (const ids of this.#assoc.get(a.id)?.values() ?? []) ids.delete(b.id)
    }
    this.generation++
  }

  #link(fromId: string, typeId: number, toId: string): void {
    let byType = this.#assoc.get(fromId)
    if (!byType) this.#assoc.set(fromId, (byType = new Map()))
    let ids = byType.get(typeId)
    if (!ids) byType.set(typeId, (ids = new Set()))
    ids.add(toId)
  }

  /** Active records associated with `from`, of type `toDef`, each with the association types linking them. */
  associated(from: Rec, toDef: ObjectDef): { rec: Rec; types: AssociationType[] }[] {
    const found = new Map<string, { rec: Rec; types: AssociationType[] }>()
    for (const [typeId, ids] of this.#assoc.get(from.id) ?? []) {
      const type = associationTypeById(typeId)
      if (!type || type.to !== toDef) continue
      for (const id of ids) {
        const rec = this.byId.get(id)
        if (!rec || rec.archived) continue
        const entry = found.get(id) ?? { rec, types: [] }
        entry.types.push(type)
        found.set(id, entry)
      }
    }
    return [...found.values()].sort((a, b) => a.rec.num - b.rec.num)
  }

  save(): SavedState {
    const records: SavedState['records'] = []
    for (const list of this.lists.values()) {
      for (const r of list) records.push([r.def.objectTypeId, r.id, r.createdAt, r.updatedAt, r.archivedAt, r.props])
    }
    const associations: SavedState['associations'] = []
    for (const [fromId, byType] of this.#assoc) {
      for (const [typeId, ids] of byType) for (const toId of ids) associations.push([fromId, typeId, toId])
    }
    return { version: 1, nextId: this.nextId, records, associations }
  }

  load(state: SavedState): void {
    this.clear()
    const defs = new Map(OBJECT_DEFS.map((d) => [d.objectTypeId, d]))
    const sorted = [...state.records].sort((a, b) => Number(a[1]) - Number(b[1]))
    for (const [typeId, id, createdAt, updatedAt, archivedAt, props] of sorted) {
      const def = defs.get(typeId)
      if (!def) continue
      const archived = archivedAt !== null
      const rec: Rec = {
        id,
        num: Number(id),
        def,
        props,
        createdAt,
        updatedAt,
        archived,
        archivedAt,
        view: { props, updatedAt, archived },
      }
      this.byId.set(id, rec)
      this.list(def).push(rec)
      if (!archived) this.#indexUnique(rec, null, props)
    }
    for (const [fromId, typeId, toId] of state.associations) this.#link(fromId, typeId, toId)
    this.nextId = Math.max(state.nextId, FIRST_ID)
  }
}
