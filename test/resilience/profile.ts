// Load profiles for the resilience suite: `short` for CI, `full` for the figures in docs/RELIABILITY.md.

export const profile = process.env.RESILIENCE_PROFILE === 'full' ? 'full' : 'short'

export const load = {
  badInputRequests: profile === 'full' ? 20_000 : 10_000,
}
