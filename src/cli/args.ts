// The CLI's argument parser: every command declares its flags, and anything it did not declare is refused.

/** A flag a command accepts: a boolean switch, or one that takes a value (`--name V` or `--name=V`). */
export interface FlagSpec {
  /** `value` takes the next word (or `=V`); `boolean` takes none. */
  type: 'boolean' | 'value'
  /** What the value looks like in the usage, e.g. `N` or `a,b`. */
  placeholder?: string
  help: string
  /** May be given more than once (the command reads every occurrence from its raw argv). */
  repeatable?: boolean
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>

export interface ParsedArgs {
  positional: string[]
  flags: Map<string, string | true>
}

/** A command line the command cannot run: shown with its usage, exit code 2, and nothing is done. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

/** `-h` and `--help` anywhere before `--` mean help, whatever else the line says. */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false
    if (arg === '--help' || arg === '-h') return true
  }
  return false
}

/**
 * Parses against the declared flags. Unknown flags, a value flag without its value, a value
 * given to a boolean flag, repeated flags and (unless `maxPositional` allows them) extra words
 * are all UsageErrors: a mistyped line must not run with defaults.
 */
export function parseArgs(argv: readonly string[], specs: FlagSpecs, maxPositional = 0): ParsedArgs {
  const positional: string[] = []
  const flags = new Map<string, string | true>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--') {
      positional.push(...argv.slice(i + 1))
      break
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg)
      continue
    }
    if (!arg.startsWith('--')) throw new UsageError(`unknown option ${arg} (options are spelled --name)`)
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2)
    const spec = specs[name]
    if (!spec) throw new UsageError(`unknown option --${name}`)
    if (flags.has(name) && !spec.repeatable) throw new UsageError(`--${name} given twice`)
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`)
      flags.set(name, true)
      continue
    }
    const value = inline ?? argv[i + 1]
    if (value === undefined || (inline === undefined && value.startsWith('--')) || value === '')
      throw new UsageError(`--${name} needs a value (--${name} ${spec.placeholder ?? 'VALUE'})`)
    if (inline === undefined) i++
    flags.set(name, value)
  }
  if (positional.length > maxPositional)
    throw new UsageError(
      `unexpected argument${positional.length - maxPositional > 1 ? 's' : ''}: ${positional.slice(maxPositional).join(' ')}`,
    )
  return { positional, flags }
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const value = args.flags.get(name)
  return typeof value === 'string' ? value : undefined
}

export function booleanFlag(args: ParsedArgs, name: string): boolean {
  return args.flags.get(name) === true
}
