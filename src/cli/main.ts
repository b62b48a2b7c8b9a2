// The hubmirror CLI: finds the command in the table, answers --help and --version, refuses what it does not know.
import { readFileSync } from 'node:fs'
import { ConfigError } from '../config/index.js'
import { parseArgs, UsageError, wantsHelp } from './args.js'
import { COMMANDS, type Command } from './commands.js'

const PROGRAM = 'hubmirror'

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

function flagWords(command: Command): string {
  return Object.entries(command.flags)
    .map(([name, spec]) => (spec.type === 'boolean' ? `[--${name}]` : `[--${name} ${spec.placeholder ?? 'V'}]`))
    .join(' ')
}

export function commandUsage(command: Command): string {
  const words = [PROGRAM, command.name, command.operands, flagWords(command)].filter(Boolean).join(' ')
  const lines = [`usage: ${words}`, '', `  ${command.summary}`]
  const flags = Object.entries(command.flags)
  if (flags.length > 0) {
    lines.push('', 'options:')
    const left = flags.map(([name, spec]) =>
      spec.type === 'boolean' ? `--${name}` : `--${name} ${spec.placeholder ?? 'V'}`,
    )
    const width = Math.max(...left.map((l) => l.length), '--help'.length) + 2
    flags.forEach(([, spec], i) => lines.push(`  ${left[i].padEnd(width)}${spec.help}`))
    lines.push(`  ${'--help'.padEnd(width)}show this help`)
  }
  if (command.details) lines.push('', ...command.details.split('\n'))
  return lines.join('\n') + '\n'
}

export function programUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2
  return [
    `usage: ${PROGRAM} <command> [options]`,
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    `  ${PROGRAM} <command> --help   options of one command`,
    `  ${PROGRAM} --version          the version`,
    '',
  ].join('\n')
}

/** The longest command name that the line starts with (`db migrate` before `db`). */
function findCommand(argv: readonly string[]): { command: Command; rest: string[] } | null {
  let best: { command: Command; rest: string[] } | null = null
  for (const command of COMMANDS) {
    const words = command.name.split(' ')
    if (words.every((word, i) => argv[i] === word) && (!best || words.length > best.command.name.split(' ').length))
      best = { command, rest: argv.slice(words.length) }
  }
  return best
}

/** Commands under a group word (`db` → `db migrate`, ...), for `hubmirror db` and `hubmirror db --help`. */
function groupUsage(group: string): string | null {
  const members = COMMANDS.filter((c) => c.name.startsWith(`${group} `))
  if (members.length === 0) return null
  const width = Math.max(...members.map((c) => c.name.length)) + 2
  return [
    `usage: ${PROGRAM} ${group} <subcommand> [options]`,
    '',
    ...members.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
  ].join('\n')
}

function usageError(message: string, usage: string): number {
  process.stderr.write(`${PROGRAM}: ${message}\n\n${usage}`)
  return 2
}

export async function main(argv: string[]): Promise<number> {
  const [first] = argv
  if (first === undefined) return usageError('no command given', programUsage())
  if (first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? argv.slice(1) : []
    const found = topic.length ? findCommand(topic) : null
    process.stdout.write(found ? commandUsage(found.command) : (groupUsage(topic[0] ?? '') ?? programUsage()))
    return 0
  }
  if (first === '--version' || first === '-v') {
    process.stdout.write(`${version()}\n`)
    return 0
  }
  const found = findCommand(argv)
  if (!found) {
    const group = groupUsage(first)
    if (group) {
      if (wantsHelp(argv.slice(1))) {
        process.stdout.write(group)
        return 0
      }
      return usageError(argv[1] ? `unknown subcommand "${first} ${argv[1]}"` : `"${first}" needs a subcommand`, group)
    }
    return usageError(first.startsWith('-') ? `unknown option ${first}` : `unknown command "${first}"`, programUsage())
  }
  const { command, rest } = found
  // Help wins over everything else on the line, so `token --help` shows help and never a token.
  if (wantsHelp(rest)) {
    process.stdout.write(commandUsage(command))
    return 0
  }
  let args
  try {
    args = parseArgs(rest, command.flags, command.maxOperands ?? 0)
  } catch (error) {
    if (error instanceof UsageError) return usageError(`${command.name}: ${error.message}`, commandUsage(command))
    throw error
  }
  try {
    return await command.run(args, rest)
  } catch (error) {
    if (error instanceof UsageError) return usageError(`${command.name}: ${error.message}`, commandUsage(command))
    if (error instanceof ConfigError) {
      process.stderr.write(`${PROGRAM} ${command.name}: configuration error: ${error.message}\n`)
      return 2
    }
    process.stderr.write(`${PROGRAM} ${command.name} failed: ${(error as Error).message}\n`)
    return 1
  }
}
