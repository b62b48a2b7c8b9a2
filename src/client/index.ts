// hubmirror/client: the typed REST client, the realtime subscription and the React hook.
export { createHubmirrorApi, newIdempotencyKey, type CallInit, type CsvFile, type HubmirrorApi } from './api.js'
export { createChangeFeed, type ChangeFeed, type ChangeFeedOptions, type FeedSubscribeOptions } from './change-feed.js'
export { applyBookingEvent, applyExamEvent, type BookingsByExam } from './booking-state.js'
export { HubmirrorError, isHubmirrorError } from './errors.js'
export { decodeTokenPayload, tokenPermissions, type TokenPayload } from './token.js'
export { useRealtimeBookings, type RealtimeBookings, type UseRealtimeBookingsOptions } from './react.js'
export { compareSeq, isSeq, maxSeq, minSeq } from '../model/seq.js'
export { createSseParser, type SseMessage, type SseParser, type SseParserHandlers } from './sse-parser.js'
export {
  subscribeChanges,
  type ChangeStatus,
  type SubscribeOptions,
  type Subscription,
  type Transport,
} from './subscribe.js'
export type * from './types.js'
