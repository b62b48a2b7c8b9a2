// A deliberate crash between HubSpot and the replica, for the recovery tests: HUBMIRROR_CRASH_AFTER_HUBSPOT=<intent kind>.

const armed = process.env.HUBMIRROR_CRASH_AFTER_HUBSPOT ?? ''

/** Kills the process (like kill -9: no cleanup, no flush) when armed for this kind of write. */
export function crashPoint(kind: string): void {
  if (armed && (armed === kind || armed === 'any')) process.kill(process.pid, 'SIGKILL')
}
