// Waiting for exam counters: a booking write answers before its exam's total_bookings push (exam-counter.ts) lands.
import type { App } from '../../src/app.js'

/** Resolves once every total_bookings push owed by the apps' answered writes has landed (or been given up). */
export async function countersSettled(...apps: ReadonlyArray<Pick<App, 'writes'>>): Promise<void> {
  await Promise.all(apps.map((app) => app.writes?.counter.settled()))
}

/**
 * The same for `hubmirror serve` children, by their /metrics gauge of owed pushes: waits until it
 * reads 0 on every one that answers (a dead server owes nothing it can still push; its successor's
 * start sets the counts again). Call it once the writes are answered, not under load.
 */
export async function serversCountersSettled(
  servers: ReadonlyArray<{ url: string }>,
  token: string,
  timeoutMs = 60_000,
): Promise<void> {
  const owed = async (url: string): Promise<number> => {
    const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } }).catch(() => null)
    if (!response?.ok) return 0
    const match = /^hubmirror_exam_counter_pending (\S+)$/m.exec(await response.text())
    return match ? Number(match[1]) : 0
  }
  const deadline = Date.now() + timeoutMs
  for (const server of servers) {
    while ((await owed(server.url)) > 0) {
      if (Date.now() > deadline)
        throw new Error(`exam counter pushes still owed on ${server.url} after ${timeoutMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}
