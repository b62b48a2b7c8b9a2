// What DATABASE_URL points at: a real session (direct, or a session pooler) or a transaction pooler.
import pg from 'pg'

/**
 * session: every query of one client connection runs on one server backend (direct Postgres,
 * Supavisor or PgBouncer in session mode), so LISTEN, session locks and SET survive.
 * transaction: each transaction may run on a different backend (Supavisor on 6543, PgBouncer
 * pool_mode=transaction): only transaction-scoped state is safe.
 */
export type PoolMode = 'session' | 'transaction'

export interface PoolModeFinding {
  mode: PoolMode
  /** How it was found, for the start-up log, /readyz and `hubmirror doctor`. */
  detectedBy: 'DATABASE_POOL_MODE' | 'port 6543' | 'probe' | 'embedded'
}

/** Supabase's shared pooler (Supavisor) serves transaction mode on this port, and only that. */
const SUPAVISOR_TRANSACTION_PORT = '6543'
const PROBE_ROUNDS = 3

export interface DetectPoolModeOptions {
  url: string
  /** DATABASE_POOL_MODE: wins over everything else. */
  override?: PoolMode | null
  connectionTimeoutMillis?: number
}

/**
 * The override, else Supabase's port, else a probe: the backend pid of one client connection
 * changing between two transactions means a transaction pooler. A pooler may hand the same
 * backend back by chance, so each round keeps a second client inside a transaction (its backend
 * busy) while the first asks again; PgBouncer (LIFO reuse) then hands the second client the
 * backend the first just released, which a session can never do.
 */
export async function detectPoolMode(options: DetectPoolModeOptions): Promise<PoolModeFinding> {
  if (options.override) return { mode: options.override, detectedBy: 'DATABASE_POOL_MODE' }
  if (new URL(options.url).port === SUPAVISOR_TRANSACTION_PORT) return { mode: 'transaction', detectedBy: 'port 6543' }
  const config = {
    connectionString: options.url,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
    application_name: 'hubmirror-probe',
  }
  const first = new pg.Client(config)
  const second = new pg.Client(config)
  first.on('error', () => undefined)
  second.on('error', () => undefined)
  const pid = async (client: pg.Client) =>
    Number((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid)
  try {
    // Each connect and query is a round trip, which a hosted database charges a network's latency
    // for at every start: the two connect at once, and the second's BEGIN goes with its question.
    await Promise.all([first.connect(), second.connect()])
    for (let round = 0; round < PROBE_ROUNDS; round++) {
      const before = await pid(first)
      // Two statements in one message: pg answers with an array of results, the question's last.
      const begun = (await second.query('BEGIN; SELECT pg_backend_pid() AS pid')) as unknown as pg.QueryResult[]
      try {
        const other = Number(begun.at(-1)!.rows[0].pid)
        const after = await pid(first)
        if (other === before || after !== before) return { mode: 'transaction', detectedBy: 'probe' }
      } finally {
        await second.query('COMMIT')
      }
    }
    return { mode: 'session', detectedBy: 'probe' }
  } finally {
    await Promise.all([first.end().catch(() => undefined), second.end().catch(() => undefined)])
  }
}
