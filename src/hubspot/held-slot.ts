// A rate-budget slot taken ahead of the call, so that a caller with much to fetch picks what to fetch only once HubSpot's limits have room.
import { AsyncLocalStorage } from 'node:async_hooks'
import type { CallKind, RateBudget, Release } from './budget.js'

/**
 * The backfill's streams must not wait in the budget holding a range another stream could read
 * meanwhile (a list page waiting for the burst window while search has room): they take a slot
 * first, then the range.
 */
export interface HeldSlot {
  kind: CallKind
  /** Runs the call; its first request of this kind spends the slot instead of waiting in the budget. */
  use<T>(call: () => Promise<T>): Promise<T>
  /** Nothing to send after all: the slot goes back uncounted. */
  giveBack(): void
}

interface Holder {
  kind: CallKind
  release: Release | null
}

const held = new AsyncLocalStorage<Holder>()

/** `signal`: stop waiting for the slot (the wait rejects with its reason). */
export async function holdSlot(budget: RateBudget, kind: CallKind, signal?: AbortSignal): Promise<HeldSlot> {
  const holder: Holder = { kind, release: await budget.acquire(kind, signal) }
  const giveBack = () => {
    holder.release?.(true)
    holder.release = null
  }
  return {
    kind,
    async use(call) {
      try {
        return await held.run(holder, call)
      } finally {
        giveBack()
      }
    },
    giveBack,
  }
}

/** The slot held for the call under way, if it is of this kind: spent once (a retry waits in the budget). */
export function takeHeldSlot(kind: CallKind): Release | null {
  const holder = held.getStore()
  if (!holder || holder.kind !== kind || !holder.release) return null
  const release = holder.release
  holder.release = null
  return release
}
