// Keeps the store in the data dir: loads it at start, saves it shortly after changes and on close.
/*
 * The file is one JSON value a line (a header, then records, then associations), written and read
 * a chunk at a time. The single JSON document it replaced needed the whole portal as one string
 * at once: a million-booking portal took a 526 MB string, 3.9 GB of RSS and 44 s to start
 * (bench/RESULTS.md, "Scale"). Saving still blocks while it runs, so the next save waits 20 times
 * as long as the last one took: a big portal spends at most 5% of its time saving.
 */
import { closeSync, existsSync, fchmodSync, openSync, readFileSync, readSync, renameSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import { makePrivateDir, PRIVATE_FILE_MODE } from '../config/data-dir.js'
import type { SavedAssociation, SavedRecord, SavedState, Store } from './store.js'

const FILE = 'hubspot-emulator.ndjson'
/** The single-document format of earlier versions, still loaded when no newer file exists. */
const LEGACY_FILE = 'hubspot-emulator.json'
const SAVE_EVERY_MS = 500
const SAVE_SHARE = 20
const CHUNK_BYTES = 1 << 20

interface Header {
  version: 2
  nextId: number
}
type Line = ['r', ...SavedRecord] | ['a', ...SavedAssociation]

export class Persistence {
  readonly #file: string
  readonly #legacyFile: string
  #savedGeneration = -1
  #timer: NodeJS.Timeout | null = null
  #notBefore = 0

  readonly #store: Store

  constructor(dataDir: string, store: Store) {
    this.#store = store
    // The portal holds students' names and emails: the folder and the file are the owner's only.
    makePrivateDir(dataDir)
    this.#file = join(dataDir, FILE)
    this.#legacyFile = join(dataDir, LEGACY_FILE)
  }

  /** True when saved state was found (and loaded), so the caller must not seed. */
  load(): boolean {
    if (existsSync(this.#file)) this.#loadLines()
    else if (existsSync(this.#legacyFile)) {
      const state = JSON.parse(readFileSync(this.#legacyFile, 'utf8')) as SavedState
      if (state.version !== 1)
        throw new Error(`${this.#legacyFile}: unsupported state version ${String(state.version)}`)
      this.#store.load(state)
    } else return false
    this.#savedGeneration = this.#store.generation
    return true
  }

  #loadLines(): void {
    const store = this.#store
    store.clear()
    let header: Header | null = null
    for (const line of readLines(this.#file)) {
      if (header === null) {
        header = JSON.parse(line) as Header
        if (header.version !== 2) throw new Error(`${this.#file}: unsupported state version ${String(header.version)}`)
        continue
      }
      const [kind, ...rest] = JSON.parse(line) as Line
      if (kind === 'r') store.loadRecord(rest as SavedRecord)
      else store.loadAssociation(rest as SavedAssociation)
    }
    store.loadedNextId(header?.nextId ?? 0)
  }

  start(): void {
    this.#timer = setInterval(() => {
      if (Date.now() >= this.#notBefore) this.save()
    }, SAVE_EVERY_MS)
    this.#timer.unref()
  }

  /** Written to a temporary file and renamed, so a crash mid-write never leaves a torn file. */
  save(): void {
    if (this.#store.generation === this.#savedGeneration) return
    const started = Date.now()
    const generation = this.#store.generation
    const tmp = `${this.#file}.tmp`
    const fd = openSync(tmp, 'w', PRIVATE_FILE_MODE)
    // The mode above applies only when the file is created; a leftover temporary keeps its own.
    fchmodSync(fd, PRIVATE_FILE_MODE)
    try {
      let chunk = JSON.stringify({ version: 2, nextId: this.#store.nextId } satisfies Header) + '\n'
      const flush = (): void => {
        writeSync(fd, chunk)
        chunk = ''
      }
      for (const record of this.#store.savedRecords()) {
        chunk += JSON.stringify(['r', ...record]) + '\n'
        if (chunk.length >= CHUNK_BYTES) flush()
      }
      for (const association of this.#store.savedAssociations()) {
        chunk += JSON.stringify(['a', ...association]) + '\n'
        if (chunk.length >= CHUNK_BYTES) flush()
      }
      flush()
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, this.#file)
    this.#savedGeneration = generation
    this.#notBefore = Date.now() + (Date.now() - started) * SAVE_SHARE
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
    this.save()
  }
}

/** The file's lines, read a megabyte at a time. */
function* readLines(file: string): Generator<string> {
  const fd = openSync(file, 'r')
  const buffer = Buffer.alloc(CHUNK_BYTES)
  // A character split across two chunks is held back by the decoder until the next one.
  const decoder = new StringDecoder('utf8')
  let rest = ''
  try {
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, null)
      if (read === 0) break
      const text = rest + decoder.write(buffer.subarray(0, read))
      const lines = text.split('\n')
      rest = lines.pop()!
      for (const line of lines) if (line) yield line
    }
    rest += decoder.end()
    if (rest) yield rest
  } finally {
    closeSync(fd)
  }
}
