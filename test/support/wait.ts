// Waiting in tests: poll a condition until it holds or the time is up.
import { setTimeout as sleep } from 'node:timers/promises'

/** Polls until check passes or the time is up; returns how long it took. */
export async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`)
    await sleep(20)
  }
  return Date.now() - started
}
