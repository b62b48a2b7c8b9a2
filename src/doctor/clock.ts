// The clock check: how far this machine's clock is from HubSpot's (its Date header), which token expiry and the sync's look-back rely on.
import type { HubSpotProbe } from '../hubspot/index.js'
import { check, type Check } from './report.js'

/** HubSpot's Date header has 1 s resolution; more than this apart, token times and the sync's look-back window suffer. */
const CLOCK_WARN_MS = 5_000
const CLOCK_FAIL_MS = 30_000

export function clockCheck(probe: Extract<HubSpotProbe, { reachable: true }>): Check {
  if (probe.serverTime === null) return check('clock', 'skip', 'HubSpot sent no Date header')
  const skew = probe.localTime - probe.serverTime
  const text = `${skew >= 0 ? 'ahead of' : 'behind'} HubSpot by ${(Math.abs(skew) / 1000).toFixed(1)} s`
  const fix =
    'synchronise the clock (NTP: `timedatectl set-ntp true`, or chrony): token expiry and the sync’s look-back window assume it'
  // The Date header drops the milliseconds: up to 1 s of apparent skew is only rounding.
  if (Math.abs(skew) > CLOCK_FAIL_MS) return check('clock', 'fail', text, { fix })
  if (Math.abs(skew) > CLOCK_WARN_MS) return check('clock', 'warn', text, { fix })
  return check('clock', 'ok', Math.abs(skew) <= 1_000 ? 'in step with HubSpot (within the Date header’s 1 s)' : text)
}
