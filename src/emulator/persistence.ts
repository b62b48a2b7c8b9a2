// Keeps the store in the data dir: loads it at start, saves it shortly after changes and on close.
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { makePrivateDir, PRIVATE_FILE_MODE } from '../config/data-dir.js'
import type { SavedState, Store } from './store.js'

const FILE = 'hubspot-emulator.json'
const SAVE_EVERY_MS = 500

export class Persistence {
  readonly #file: string
  #savedGeneration = -1
  #timer: NodeJS.Timeout | null = null

  readonly #store: Store

  constructor(dataDir: string, store: Store) {
    this.#store = store
    // The portal holds students' names and emails: the folder and the file are the owner's only.
    makePrivateDir(dataDir)
    this.#file = join(dataDir, FILE)
  }

  /** True when saved state was found (and loaded), so the caller must not seed. */
  load(): boolean {
    if (!existsSync(this.#file)) return false
    const state = JSON.parse(readFileSync(this.#file, 'utf8')) as SavedState
    if (state.version !== 1) throw new Error(`${this.#file}: unsupported state version ${String(state.version)}`)
    this.#store.load(state)
    this.#savedGeneration = this.#store.generation
    return true
  }

  start(): void {
    this.#timer = setInterval(() => this.save(), SAVE_EVERY_MS)
    this.#timer.unref()
  }

  /** Written to a temporary file and renamed, so a crash mid-write never leaves a torn file. */
  save(): void {
    if (this.#store.generation === this.#savedGeneration) return
    const generation = this.#store.generation
    const tmp = `${this.#file}.tmp`
    writeFileSync(tmp, JSON.stringify(this.#store.save()), { mode: PRIVATE_FILE_MODE })
    // The mode above applies only when the file is created; a leftover temporary keeps its own.
    chmodSync(tmp, PRIVATE_FILE_MODE)
    renameSync(tmp, this.#file)
    this.#savedGeneration = generation
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
    this.save()
  }
}
