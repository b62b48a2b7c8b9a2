// The limits every realtime transport and GraphQL share, built from the config once, and their /metrics.
import type { Registry } from 'prom-client'
import type { ClientLimits } from '../config/index.js'
import type { GraphqlOptions } from './graphql.js'
import type { RefusalReason } from './graphql-limits.js'
import { counterFrom, gaugeFrom } from './metrics.js'
import { STREAM_KINDS, StreamLimits, type StreamStats } from './stream-limits.js'

export interface RealtimeLimits {
  streams: StreamLimits
  /** The public seats-left streams: held per client IP, and counted apart from the token holders'. */
  publicStreams: StreamLimits
  graphql: Omit<GraphqlOptions, 'streams'>
}

export function createClientLimits(config: ClientLimits, metrics?: Registry): RealtimeLimits {
  const streams = new StreamLimits({
    perSubject: config.maxStreamsPerSubject,
    total: config.maxStreams,
    backlogBytes: config.streamBacklogBytes,
  })
  const publicStreams = new StreamLimits({
    perSubject: config.publicStreamsPerIp,
    total: config.publicStreams,
    backlogBytes: config.streamBacklogBytes,
    holder: 'this IP address',
  })
  const refused: Record<RefusalReason, number> = { cost: 0, fields: 0, aliases: 0, size: 0, subscriptions: 0 }
  if (metrics) exportLimits(metrics, [streams, publicStreams], refused)
  return {
    streams,
    publicStreams,
    graphql: {
      refused,
      limits: {
        maxCost: config.graphqlMaxCost,
        maxFields: config.graphqlMaxFields,
        maxAliases: config.graphqlMaxAliases,
        maxSubscriptions: config.graphqlMaxSubscriptions,
        introspection: config.graphqlIntrospection,
      },
    },
  }
}

/** Both pools' figures, kind by kind (each pool only ever counts its own kinds). */
function statsOf(pools: readonly StreamLimits[]): StreamStats {
  const [first, ...rest] = pools.map((pool) => pool.stats())
  for (const stats of rest)
    for (const kind of STREAM_KINDS) {
      first.open[kind] += stats.open[kind]
      first.refusedPerSubject[kind] += stats.refusedPerSubject[kind]
      first.refusedTotal[kind] += stats.refusedTotal[kind]
      first.dropped[kind] += stats.dropped[kind]
    }
  return first
}

function exportLimits(metrics: Registry, pools: readonly StreamLimits[], refused: Record<RefusalReason, number>): void {
  const streams = { stats: () => statsOf(pools) }
  gaugeFrom(metrics, 'hubmirror_streams_open', 'Open realtime streams by transport', () => streams.stats().open)
  counterFrom(
    metrics,
    'hubmirror_streams_refused_total',
    'Realtime streams refused (429 / close 4429) by transport and by which limit: per token subject or per server',
    ['kind', 'scope'],
    () => {
      const stats = streams.stats()
      return STREAM_KINDS.flatMap((kind): Array<[{ kind: string; scope: string }, number]> => [
        [{ kind, scope: 'subject' }, stats.refusedPerSubject[kind]],
        [{ kind, scope: 'server' }, stats.refusedTotal[kind]],
      ])
    },
  )
  counterFrom(
    metrics,
    'hubmirror_streams_dropped_total',
    'Realtime streams cut off because the reader fell behind its backlog limit',
    ['kind'],
    () => {
      const { dropped } = streams.stats()
      return STREAM_KINDS.map((kind) => [{ kind }, dropped[kind]])
    },
  )
  counterFrom(
    metrics,
    'hubmirror_graphql_refused_total',
    'GraphQL operations refused before execution, by reason (cost, fields, aliases, size, subscriptions)',
    ['reason'],
    () => Object.entries(refused).map(([reason, count]) => [{ reason }, count]),
  )
}
