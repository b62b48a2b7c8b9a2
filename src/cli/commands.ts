// The CLI's command table: each command's name, summary, flags and implementation (loaded on use).
import type { FlagSpecs, ParsedArgs } from './args.js'

export interface Command {
  /** One word, or two for a subcommand (`db migrate`). */
  name: string
  summary: string
  /** Positional arguments in the usage line, e.g. `<file>`; none unless said. */
  operands?: string
  /** How many positional words the command takes (0 unless said). */
  maxOperands?: number
  flags: FlagSpecs
  /** More lines shown by `hubmirror <command> --help`. */
  details?: string
  /** Resolves to the exit code. `argv` is the command's own words, already checked against `flags`. */
  run(args: ParsedArgs, argv: string[]): Promise<number>
}

const json = { type: 'boolean', help: 'print the result as one JSON object' } as const

/**
 * Every command. Kept in one table so that `--help`, unknown-flag refusal and dispatch cover each
 * one the same way; a new command is one more entry here.
 */
export const COMMANDS: readonly Command[] = [
  {
    name: 'serve',
    summary: 'run the service (what npm start runs)',
    flags: {
      'print-link': {
        type: 'boolean',
        help: 'print the one-time sign-in link even when stdout is not a terminal',
      },
    },
    details:
      'Configured by the environment (PORT, HOST, DATABASE_URL, REDIS_URL, HUBSPOT_ACCESS_TOKEN, ...).\n' +
      'Without HUBSPOT_ACCESS_TOKEN it runs the HubSpot emulator in-process, seeded with demo data.\n' +
      'On a terminal it prints a sign-in link: a one-time code (10 minutes) the dashboard exchanges for a token.',
    run: async (args) => (await import('./serve.js')).serve(args),
  },
  {
    name: 'emulator',
    summary: 'run the HubSpot emulator alone',
    flags: {
      port: { type: 'value', placeholder: 'N', help: 'port to listen on (0: any free port)' },
      host: { type: 'value', placeholder: 'H', help: 'address to listen on (default 127.0.0.1)' },
      'data-dir': { type: 'value', placeholder: 'D', help: 'where its state persists ("none": in memory)' },
      seed: { type: 'value', placeholder: 'demo|none|N', help: 'demo data, nothing, or N bulk bookings' },
      token: { type: 'value', placeholder: 'T', help: 'the only bearer token it accepts (default: any)' },
      'rate-limit-10s': { type: 'value', placeholder: 'R', help: 'requests per 10 seconds (default 190)' },
      'search-rate-s': { type: 'value', placeholder: 'S', help: 'search requests per second (default 5)' },
      'daily-limit': { type: 'value', placeholder: 'D', help: 'requests per day (default 1000000)' },
      'search-lag-ms': { type: 'value', placeholder: 'L', help: 'how far search lags behind writes' },
      'portal-id': { type: 'value', placeholder: 'P', help: 'the portal id it reports' },
      require: {
        type: 'value',
        placeholder: 'objectType.property',
        repeatable: true,
        help: "creates without this property get HubSpot's 400 VALIDATION_ERROR (repeatable)",
      },
    },
    run: async (_args, argv) => {
      await (await import('../emulator/index.js')).runEmulatorCli(argv)
      return 0
    },
  },
  {
    name: 'db migrate',
    summary: 'apply schema migrations',
    flags: {},
    run: async () => (await import('./db.js')).migrateCommand(),
  },
  {
    name: 'db policies',
    summary: "let Supabase's authenticated users holding a permission read the exam and booking tables, or revoke",
    flags: {
      read: {
        type: 'value',
        placeholder: 'PERMISSION',
        help: 'add RLS read policies for this permission (e.g. exams.view)',
      },
      revoke: { type: 'boolean', help: 'remove those policies again' },
    },
    details: 'Give exactly one of --read and --revoke.',
    run: async (args) => (await import('./db.js')).policiesCommand(args),
  },
  {
    name: 'db publish',
    summary: 'publish the exam and booking tables for logical replication (CREATE SUBSCRIPTION, Supabase Realtime)',
    flags: {
      publication: {
        type: 'value',
        placeholder: 'NAME',
        help: 'the publication to create or extend (default hubmirror_replica; supabase_realtime for Supabase Realtime)',
      },
      json,
    },
    details:
      'Creates the publication on public.hubspot_mock_exams and public.hubspot_bookings, or adds them to an\n' +
      'existing one (its other tables stay). Running it again changes nothing. Needs a Postgres DATABASE_URL at\n' +
      'wal_level = logical, as the role owning the tables; exit code 2 with the reason when it cannot.',
    run: async (args) => (await import('./db.js')).publishCommand(args),
  },
  {
    name: 'backfill',
    summary: 'one-time HubSpot → replica load: resumable, with progress',
    flags: {
      restart: { type: 'boolean', help: 'forget a finished or half-done backfill and load everything again' },
      json,
    },
    details: HUBSPOT_DETAILS(),
    run: async (args) => (await import('./sync.js')).backfillCommand(args),
  },
  {
    name: 'sync',
    summary: 'one incremental pull',
    flags: { json },
    details: HUBSPOT_DETAILS(),
    run: async (args) => (await import('./sync.js')).syncCommand(args),
  },
  {
    name: 'reconcile',
    summary: 'compare HubSpot and the replica; report or repair drift',
    flags: { fix: { type: 'boolean', help: 'repair the drift it finds' }, json },
    details: `Exit code 1 when drift was found and not fixed.\n${HUBSPOT_DETAILS()}`,
    run: async (args) => (await import('./sync.js')).reconcileCommand(args),
  },
  {
    name: 'doctor',
    summary: 'check the database, pool, RLS and grants, Redis, HubSpot, JWT and clock; print a fix for each failure',
    flags: { json },
    details: 'Exit code 1 when a check failed. With a server running on this data dir, that server runs the checks.',
    run: async (args) => (await import('./doctor.js')).doctorCommand(args),
  },
  {
    name: 'history',
    summary: "print a booking's (or, with --exam, an exam's) changes, newest first, and who made each",
    operands: '<id>',
    maxOperands: 1,
    flags: {
      exam: { type: 'boolean', help: 'the id is a mock exam' },
      limit: { type: 'value', placeholder: 'N', help: 'how many changes (default 50, at most 500)' },
      json,
    },
    details:
      'Reads the replica (DATABASE_URL, or the embedded database); beside a server holding the embedded\n' +
      'database, asks that server. Kept after the change log is pruned: it is hubmirror.record_history.',
    run: async (args) => (await import('./history.js')).historyCommand(args),
  },
  {
    name: 'token',
    summary: 'print a signed bearer token',
    flags: {
      permissions: {
        type: 'value',
        placeholder: 'a,b',
        help: 'comma-separated: exams.view, exams.edit, bookings.edit, sync.run, metrics.read',
      },
      ttl: { type: 'value', placeholder: '7d', help: 'lifetime, e.g. 30m, 12h, 7d (default 7d)' },
      subject: { type: 'value', placeholder: 'S', help: 'the sub claim (default "admin")' },
    },
    details: 'Signed with HUBMIRROR_JWT_SECRET, or the secret generated into the data dir.',
    run: async (args) => (await import('./token.js')).tokenCommand(args),
  },
]

function HUBSPOT_DETAILS(): string {
  return (
    'HubSpot is HUBSPOT_ACCESS_TOKEN (+ HUBSPOT_BASE_URL), else HUBSPOT_BASE_URL (an emulator), else the\n' +
    'server running on this data dir (npm start), which is asked to do the work.'
  )
}
