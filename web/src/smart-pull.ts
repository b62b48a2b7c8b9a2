// "Smart triggers": ask the server to pull from HubSpot when the admin comes back to the tab.
import { useEffect, useRef } from 'react'

/**
 * Calls `pull` on window focus and when the tab becomes visible, at most once per `intervalMs`.
 * A trigger inside the window is not dropped but deferred to its end (trailing edge), so coming
 * back right after a pull still fetches what changed in between.
 */
export function useSmartPull(pull: (() => Promise<unknown>) | null, intervalMs = 5_000): void {
  const pullRef = useRef(pull)
  pullRef.current = pull
  const enabled = pull !== null

  useEffect(() => {
    if (!enabled) return
    let last = 0
    let timer: ReturnType<typeof setTimeout> | undefined
    let inFlight = false

    const run = () => {
      timer = undefined
      const fn = pullRef.current
      if (!fn || inFlight) return
      last = Date.now()
      inFlight = true
      void fn()
        .catch(() => {})
        .finally(() => {
          inFlight = false
        })
    }
    const trigger = () => {
      const wait = last + intervalMs - Date.now()
      if (wait <= 0 && !inFlight) run()
      else if (timer === undefined) timer = setTimeout(run, Math.max(wait, 250))
    }
    const onVisibility = () => {
      if (document.visibilityState === 'visible') trigger()
    }
    window.addEventListener('focus', trigger)
    document.addEventListener('visibilitychange', onVisibility)
    // The seed's "sync when the dashboard loads".
    trigger()
    return () => {
      window.removeEventListener('focus', trigger)
      document.removeEventListener('visibilitychange', onVisibility)
      clearTimeout(timer)
    }
  }, [enabled, intervalMs])
}
