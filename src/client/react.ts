// useRealtimeBookings: a snapshot of each exam's bookings, kept current by one change subscription.
import { useCallback, useEffect, useRef, useState } from 'react'
import { createHubmirrorApi, resolveToken } from './api.js'
import { applyBookingEvent, type BookingsByExam } from './booking-state.js'
import type { ChangeFeed } from './change-feed.js'
import { HubmirrorError, isHubmirrorError } from './errors.js'
import { minSeq } from '../model/seq.js'
import { subscribeChanges, type ChangeStatus, type Subscription, type Transport } from './subscribe.js'
import type { ChangeEvent, TokenSource } from './types.js'

export interface UseRealtimeBookingsOptions {
  baseUrl: string
  token: TokenSource
  transport?: Transport
  fetch?: typeof fetch
  /** Sees every change event for these exams (after de-duplication), e.g. to show a toast. */
  onEvent?(event: ChangeEvent): void
  /** Share this connection instead of opening one (see createChangeFeed). */
  feed?: ChangeFeed
}

export interface RealtimeBookings {
  bookings: BookingsByExam
  status: ChangeStatus
  /** The change-log position the lists reflect. */
  seq: string | null
  error: HubmirrorError | null
  /** True until the first snapshot has loaded. */
  loading: boolean
  /** Reloads the snapshot and resumes from it (what a `refetch` answer does automatically). */
  reload(): void
}

interface State {
  bookings: BookingsByExam
  status: ChangeStatus
  seq: string | null
  error: HubmirrorError | null
  loading: boolean
}

export function useRealtimeBookings(examIds: readonly string[], options: UseRealtimeBookingsOptions): RealtimeBookings {
  // A new array with the same ids on every render must not restart the subscription.
  const key = [...new Set(examIds.filter(Boolean))].sort().join(',')
  const token = resolveToken(options.token)
  const { baseUrl, transport } = options
  const fetchImpl = options.fetch
  const feed = options.feed
  const onEventRef = useRef(options.onEvent)
  onEventRef.current = options.onEvent
  const reloadRef = useRef<() => void>(() => {})
  const [state, setState] = useState<State>(() => ({
    bookings: {},
    status: key ? 'connecting' : 'offline',
    seq: null,
    error: null,
    loading: key !== '',
  }))

  useEffect(() => {
    const ids = key ? key.split(',') : []
    if (ids.length === 0) {
      setState({ bookings: {}, status: 'offline', seq: null, error: null, loading: false })
      return
    }
    let cancelled = false
    let sub: Subscription | null = null
    let retryTimer: ReturnType<typeof setTimeout> | undefined
    let loadFailures = 0
    const ac = new AbortController()
    const api = createHubmirrorApi({ baseUrl, token, ...(fetchImpl ? { fetch: fetchImpl } : {}) })
    // Per-exam snapshot positions; events at or below them are already in the lists.
    let floors: Record<string, string | null> = {}
    setState({ bookings: {}, status: 'connecting', seq: null, error: null, loading: true })

    async function loadSnapshot(): Promise<string | null> {
      const results = await Promise.all(ids.map((id) => api.getExamBookings(id, { signal: ac.signal })))
      const bookings: BookingsByExam = {}
      const nextFloors: Record<string, string | null> = {}
      let seq: string | null = null
      results.forEach((result, i) => {
        const id = ids[i] as string
        bookings[id] = result.bookings
        nextFloors[id] = result.seq
        seq = minSeq(seq, result.seq)
      })
      if (cancelled) return seq
      floors = nextFloors
      setState((s) => ({ ...s, bookings, seq, error: null, loading: false }))
      return seq
    }

    async function load(): Promise<void> {
      clearTimeout(retryTimer)
      try {
        const seq = await loadSnapshot()
        if (cancelled) return
        loadFailures = 0
        // Subscribing from the snapshot's seq (not "now") is what closes the fetch/subscribe gap.
        if (sub) sub.resume(seq)
        else sub = subscribe(seq)
      } catch (error) {
        if (cancelled) return
        const err = isHubmirrorError(error)
          ? error
          : new HubmirrorError(0, 'E_NETWORK', String((error as Error)?.message ?? error))
        const retryable = err.status === 0 || err.status >= 500
        setState((s) => ({ ...s, error: err, loading: false, status: retryable ? 'reconnecting' : 'offline' }))
        if (retryable) {
          loadFailures++
          retryTimer = setTimeout(() => void load(), Math.min(10_000, 500 * 2 ** loadFailures))
        }
      }
    }

    function subscribe(after: string | null): Subscription {
      const handlers = {
        examIds: ids,
        after,
        onEvent(event: ChangeEvent) {
          if (event.kind === 'booking') {
            setState((s) => {
              const bookings = applyBookingEvent(s.bookings, event, floors)
              return { ...s, bookings, seq: sub?.cursor() ?? event.seq }
            })
          }
          onEventRef.current?.(event)
        },
        onStatus(status: ChangeStatus) {
          setState((s) => (s.status === status ? s : { ...s, status }))
        },
        onRefetch() {
          void load()
        },
      }
      if (feed) {
        const sub = feed.subscribe(handlers)
        setState((s) => ({ ...s, status: feed.status() }))
        return sub
      }
      return subscribeChanges({
        ...handlers,
        baseUrl,
        token,
        ...(transport ? { transport } : {}),
        ...(fetchImpl ? { fetch: fetchImpl } : {}),
        onError(error) {
          setState((s) => ({ ...s, error, status: 'offline' }))
        },
      })
    }

    reloadRef.current = () => {
      if (!cancelled) void load()
    }
    void load()
    return () => {
      cancelled = true
      clearTimeout(retryTimer)
      ac.abort()
      sub?.close()
      reloadRef.current = () => {}
    }
  }, [key, baseUrl, token, transport, fetchImpl, feed])

  const reload = useCallback(() => reloadRef.current(), [])
  return { ...state, reload }
}
