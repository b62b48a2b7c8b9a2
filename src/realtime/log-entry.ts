// Change-log events as fanned out: each event is encoded once per wire format, whatever the subscriber count.
import type { ChangeEvent, LoggedChangeEvent, ObjectKind } from '../model/records.js'
import { compareSeq } from '../model/seq.js'

/**
 * One event plus its encodings, built on first use and shared by every subscriber that receives it.
 * Events read from the log (backlogs, long-poll answers, the follower's reads) carry their row as
 * Postgres's JSON text: json() splices it in unparsed, and only `event` (GraphQL) parses it.
 * Events committed by this process arrive as objects and are stringified once.
 */
export class LogEntry {
  readonly seq: string
  readonly kind: ObjectKind
  readonly examId: string | null
  #event: ChangeEvent | undefined
  readonly #logged: LoggedChangeEvent | undefined
  #json: string | undefined
  #sse: Buffer | undefined
  #ws: Buffer | undefined

  constructor(event: ChangeEvent | LoggedChangeEvent) {
    this.seq = event.seq
    this.kind = event.kind
    this.examId = event.exam_id
    if ('rowJson' in event) this.#logged = event
    else this.#event = event
  }

  /** The event as an object; a logged row is parsed here, on first use. */
  get event(): ChangeEvent {
    return (this.#event ??= parseLogged(this.#logged!))
  }

  json(): string {
    return (this.#json ??= this.#logged ? splicedJson(this.#logged) : JSON.stringify(this.#event))
  }

  /** JSON.stringify escapes newlines, so the payload is always a single `data:` line. */
  sse(): Buffer {
    return (this.#sse ??= Buffer.from(`id: ${this.seq}\nevent: change\ndata: ${this.json()}\n\n`))
  }

  /** Bytes, so that the WebSocket library does not re-encode the text for every socket. */
  wsMessage(): Buffer {
    return (this.#ws ??= Buffer.from(`{"type":"change","event":${this.json()}}`))
  }
}

/**
 * Consecutive entries (ascending seq) handed to subscribers together. Slices are immutable and
 * memoise their filtered views and concatenated bytes, so the usual case (many subscribers with
 * the same filter) filters and concatenates once.
 */
export class EventSlice {
  readonly entries: readonly LogEntry[]
  #sse: Buffer | undefined
  #byExam: Map<string, EventSlice | null> | undefined

  constructor(entries: readonly LogEntry[]) {
    if (entries.length === 0) throw new Error('an EventSlice needs at least one entry')
    this.entries = entries
  }

  static of(events: readonly (ChangeEvent | LoggedChangeEvent)[]): EventSlice {
    return new EventSlice(events.map((event) => new LogEntry(event)))
  }

  get firstSeq(): string {
    return this.entries[0].seq
  }

  get lastSeq(): string {
    return this.entries[this.entries.length - 1].seq
  }

  /** Every entry's SSE frame, back to back: one write per socket for the whole slice. */
  sse(): Buffer {
    if (this.entries.length === 1) return this.entries[0].sse()
    return (this.#sse ??= Buffer.concat(this.entries.map((entry) => entry.sse())))
  }

  /** The entries about these exams (null: all), or null when none is. */
  forExams(examIds: ReadonlySet<string> | null): EventSlice | null {
    if (examIds === null) return this
    if (examIds.size === 1) return this.forExam(examIds.values().next().value as string)
    return this.#filter((entry) => entry.examId !== null && examIds.has(entry.examId))
  }

  forExam(examId: string): EventSlice | null {
    this.#byExam ??= new Map()
    let slice = this.#byExam.get(examId)
    if (slice === undefined) {
      slice = this.#filter((entry) => entry.examId === examId)
      this.#byExam.set(examId, slice)
    }
    return slice
  }

  /** The entries with seq > cursor (null cursor: all), or null when none is. */
  after(cursor: string | null): EventSlice | null {
    if (cursor === null || compareSeq(this.firstSeq, cursor) > 0) return this
    return this.#filter((entry) => compareSeq(entry.seq, cursor) > 0)
  }

  /** At most `limit` entries from the start. */
  take(limit: number): EventSlice {
    return this.entries.length <= limit ? this : new EventSlice(this.entries.slice(0, limit))
  }

  #filter(keep: (entry: LogEntry) => boolean): EventSlice | null {
    const kept = this.entries.filter(keep)
    if (kept.length === this.entries.length) return this
    return kept.length === 0 ? null : new EventSlice(kept)
  }
}

/**
 * The wire JSON of a logged event: the envelope stringified (the log reads it in ChangeEvent's key order)
 * and the row's text spliced in last, as JSON.stringify(event) would place it. The text is jsonb's
 * output: valid JSON with its newlines escaped (so still one SSE `data:` line), keys in the order
 * JSON.parse would keep, numbers as Postgres stores them (`1000000000000000000000` where JSON.stringify
 * writes `1e+21`), and a space after `:` and `,`. JSON.parse reads both texts to the same value.
 */
function splicedJson({ rowJson, ...envelope }: LoggedChangeEvent): string {
  return `${JSON.stringify(envelope).slice(0, -1)},"row":${rowJson}}`
}

function parseLogged({ rowJson, ...envelope }: LoggedChangeEvent): ChangeEvent {
  return { ...envelope, row: JSON.parse(rowJson) as ChangeEvent['row'] }
}
