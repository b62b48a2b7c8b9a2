// The realtime part's public face: the hub (change-log follower and fan-out) and its types.
export { createRealtimeHub, type RealtimeHub, type RealtimeHubOptions } from './hub.js'
export { EventSlice, LogEntry } from './log-entry.js'
export type { SubscribeOptions, Subscription } from './subscriber.js'
