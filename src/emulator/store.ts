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
/** Links a record may have before a Set, rather than a scan, tells a new link from a repeated one. */
const MANY_LINKS = 16

export type SavedRecord = [
  typeId: string,
  id: string,
  createdAt: number,
  updatedAt: number,
  archivedAt: number | null,
  props: Props,
]
export type SavedAssociation = [fromId: string, typeId: number, toId: string]

export interface SavedState {
  version: 1
  nextId: number
  records: SavedRecord[]
  associations: SavedAssociation[]
}

const DEFS_BY_TYPE_ID = new Map(OBJECT_DEFS.map((d) => [d.objectTypeId, d]))

/** The first index of an id-ordered list whose record's id is not below `num`. */
export function lowerBound(list: readonly Rec[], num: number): number {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (list[mid]!.num < num) lo = mid + 1
    else hi = mid
  }
  return lo
}

export class Store {
  nextId = FIRST_ID
  readonly byId = new Map<string, Rec>()
  readonly lists = new Map<ObjectDef, Rec[]>()
  /** def → property → lower-cased value → the active record holding it */
  readonly #unique = new Map<ObjectDef, Map<string, Map<string, Rec>>>()
  /**
   * fromId → its links as flat pairs [typeId, toId, typeId, toId, …], insertion-ordered. A record has
   * one or two links in the common case: a Map of Sets per record cost ~400 bytes, most of a
   * million-booking portal's heap (bench/scale); a short array costs a tenth of that.
   */
  readonly #assoc = new Map<string, (number | string)[]>()
  /** the linked ids of records with many links (an exam's bookings), so a new link is checked without a scan */
  readonly #manyLinks = new Map<string, Set<string>>()
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
    this.#manyLinks.clear()
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
      const links = this.#assoc.get(a.id)
      if (!links) continue
      for (let i = links.length - 2; i >= 0; i -= 2) {
        if (links[i + 1] !== b.id) continue
        links.splice(i, 2)
        this.#manyLinks.get(a.id)?.delete(b.id)
      }
    }
    this.generation++
  }

  #link(fromId: string, typeId: number, toId: string): void {
    const links = this.#assoc.get(fromId)
    if (!links) return void this.#assoc.set(fromId, [typeId, toId])
    const many = this.#manyLinks.get(fromId)
    if (!many || many.has(toId))
      for (let i = 0; i < links.length; i += 2) if (links[i + 1] === toId && links[i] === typeId) return
    links.push(typeId, toId)
    if (many) many.add(toId)
    else if (links.length > MANY_LINKS * 2)
      this.#manyLinks.set(fromId, new Set(links.filter((_, i) => i % 2 === 1) as string[]))
  }

  /** Active records associated with `from`, of type `toDef`, each with the association types linking them. */
  associated(from: Rec, toDef: ObjectDef): { rec: Rec; types: AssociationType[] }[] {
    const found = new Map<string, { rec: Rec; types: AssociationType[] }>()
    const links = this.#assoc.get(from.id) ?? []
    // By type first, then by link order, as the Map of Sets this replaced iterated them.
    const typeIds = [...new Set(links.filter((_, i) => i % 2 === 0))] as number[]
    for (const typeId of typeIds) {
      const type = associationTypeById(typeId)
      if (!type || type.to !== toDef) continue
      for (let i = 0; i < links.length; i += 2) {
        if (links[i] !== typeId) continue
        const id = links[i + 1] as string
        const rec = this.byId.get(id)
        if (!rec || rec.archived) continue
        const entry = found.get(id) ?? { rec, types: [] }
        entry.types.push(type)
        found.set(id, entry)
      }
    }
    return [...found.values()].sort((a, b) => a.rec.num - b.rec.num)
  }

  /** Every record as persistence keeps it, list by list (each list in id order). */
  *savedRecords(): Generator<SavedRecord> {
    for (const list of this.lists.values())
      for (const r of list) yield [r.def.objectTypeId, r.id, r.createdAt, r.updatedAt, r.archivedAt, r.props]
  }

  /** Every link, grouped by record then by type, each group in link order. */
  *savedAssociations(): Generator<SavedAssociation> {
    for (const [fromId, links] of this.#assoc) {
      const typeIds = [...new Set(links.filter((_, i) => i % 2 === 0))] as number[]
      for (const typeId of typeIds)
        for (let i = 0; i < links.length; i += 2)
          if (links[i] === typeId) yield [fromId, typeId, links[i + 1] as string]
    }
  }

  save(): SavedState {
    return {
      version: 1,
      nextId: this.nextId,
      records: [...this.savedRecords()],
      associations: [...this.savedAssociations()],
    }
  }

  load(state: SavedState): void {
    this.clear()
    for (const record of [...state.records].sort((a, b) => Number(a[1]) - Number(b[1]))) this.loadRecord(record)
    for (const association of state.associations) this.loadAssociation(association)
    this.loadedNextId(state.nextId)
  }

  /** Adds a saved record to a cleared store; records of one type must come in id order. */
  loadRecord([typeId, id, createdAt, updatedAt, archivedAt, props]: SavedRecord): void {
    const def = DEFS_BY_TYPE_ID.get(typeId)
    if (!def) return
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

  loadAssociation([fromId, typeId, toId]: SavedAssociation): void {
    this.#link(fromId, typeId, toId)
  }

  loadedNextId(nextId: number): void {
    this.nextId = Math.max(nextId, FIRST_ID, ...[...this.lists.values()].map((l) => (l.at(-1)?.num ?? 0) + 1))
  }
}
