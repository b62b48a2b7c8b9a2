// The limits every realtime transport and GraphQL share, built from the config once, and their /metrics.
import type { Registry } from 'prom-client'
import type { ClientLimits } from '../config/index.js'
import type { GraphqlOptions } from './graphql.js'
import type { RefusalReason } from './graphql-limits.js'
import { counterFrom, gaugeFrom } from './metrics.js'
import { STREAM_KINDS, StreamLimits } from './stream-limits.js'

export interface RealtimeLimits {
  streams: StreamLimits
  graphql: Omit<GraphqlOptions, 'streams'>
}

export function createClientLimits(config: ClientLimits, metrics?: Registry): RealtimeLimits {
  const streams = new StreamLimits({
    perSubject: config.maxStreamsPerSubject,
    total: config.maxStreams,
    backlogBytes: config.streamBacklogBytes,
  })
  const refused: Record<RefusalReason, number> = { cost: 0, fields: 0, aliases: 0, size: 0, subscriptions: 0 }
  if (metrics) exportLimits(metrics, streams, refused)
  return {
    streams,
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

function exportLimits(metrics: Registry, streams: StreamLimits, refused: Record<RefusalReason, number>): void {
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
