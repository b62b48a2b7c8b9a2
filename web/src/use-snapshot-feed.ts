// Snapshot-then-subscribe for a screen: load a snapshot, then follow the change feed from the cursor it was taken at.
import { useEffect, type DependencyList } from 'react'
import { compareSeq, isSeq, type ChangeEvent, type ChangeFeed } from '../../src/client/index.js'

/** What a screen gives the hook, made afresh each time its dependencies change. */
export interface SnapshotFeed {
  /** Reads the snapshot, shows it (and moves `floor` to it) and answers with the cursor it was taken at. */
  load(): Promise<string | null>
  /** Only these exams' events (none: every event). */
  examIds?: string[]
  /** An event newer than the snapshot shown. */
  onEvent(event: ChangeEvent): void
  /** The first snapshot failed (not called once the screen has moved on). */
  onLoadError(error: unknown): void
  /** A snapshot taken again after a "refetch" answer failed. */
  onRefetchError(error: unknown): void
  /** Let go of what the screen set up for this round (timers). */
  dispose?(): void
}

/**
 * Loads a snapshot, then subscribes from its cursor, so nothing between the read and the
 * subscription is missed (DESIGN.md, Realtime). Events at or below `floor` (the cursor of the
 * snapshot on screen, which the screen's `load` keeps) are already in it and are dropped. A
 * "refetch" answer (the cursor is older than the log keeps) loads a fresh snapshot and resumes
 * from that one. `start` gets a test for whether this round is still current.
 */
export function useSnapshotFeed(
  feed: ChangeFeed,
  floor: { readonly current: string | null },
  start: (current: () => boolean) => SnapshotFeed,
  deps: DependencyList,
): void {
  useEffect(() => {
    let cancelled = false
    const screen = start(() => !cancelled)
    let sub: ReturnType<ChangeFeed['subscribe']> | null = null
    screen
      .load()
      .then((seq) => {
        if (cancelled) return
        sub = feed.subscribe({
          examIds: screen.examIds,
          after: seq,
          onEvent(event) {
            const seen = floor.current
            if (seen !== null && isSeq(event.seq) && compareSeq(event.seq, seen) <= 0) return
            screen.onEvent(event)
          },
          onRefetch() {
            screen
              .load()
              .then((fresh) => sub?.resume(fresh))
              .catch((e) => screen.onRefetchError(e))
          },
        })
      })
      .catch((e) => {
        if (!cancelled) screen.onLoadError(e)
      })
    return () => {
      cancelled = true
      screen.dispose?.()
      sub?.close()
    }
    // The caller's dependencies: `start` is a new closure each render.
  }, [feed, ...deps])
}
