// What one GraphQL operation may ask for: fields, aliases and a computed cost, measured before it runs.
import {
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql'

export interface OperationLimits {
  maxCost: number
  maxFields: number
  maxAliases: number
}

export type RefusalReason = 'cost' | 'fields' | 'aliases' | 'size' | 'subscriptions'

export type Measure =
  { ok: true; cost: number; fields: number; aliases: number } | { ok: false; reason: RefusalReason; message: string }

/** A list read (the exam list, an exam's bookings) is one cache read but many rows to serialise. */
const LIST_COST = 10
/** `changes` without a limit reads this many (the schema's default). */
const DEFAULT_CHANGES_LIMIT = 100

/**
 * Walks the operation with its fragments expanded and stops as soon as a limit is passed, so
 * that a small query text that expands enormously costs no more than the limit to measure.
 * Each field costs 1, `exams` and `bookings` 10, and `changes` its `limit` (every row it may
 * read from the change log): 300 aliases of `changes(limit: 1000)` cost 300,000.
 */
export function measureOperation(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | null | undefined,
  limits: OperationLimits,
): Measure {
  const fragments = new Map<string, FragmentDefinitionNode>()
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition)
  let cost = 0
  let fields = 0
  let aliases = 0
  let refusal: Measure | null = null

  const fieldCost = (field: FieldNode, depth: number): number => {
    if (depth !== 0) return 1
    switch (field.name.value) {
      case 'changes':
        return changesLimit(field, variables)
      case 'exams':
      case 'bookings':
        return LIST_COST
      default:
        return 1
    }
  }

  // `inFragments` guards against cycles, which validation already refuses.
  const visit = (selections: SelectionSetNode, depth: number, inFragments: Set<string>): void => {
    for (const selection of selections.selections) {
      if (refusal) return
      if (selection.kind === Kind.FIELD) {
        fields += 1
        if (selection.alias) aliases += 1
        cost += fieldCost(selection, depth)
        if (fields > limits.maxFields)
          refusal = refuse('fields', `the operation selects more than ${limits.maxFields} fields`)
        else if (aliases > limits.maxAliases)
          refusal = refuse('aliases', `the operation uses more than ${limits.maxAliases} aliases`)
        else if (cost > limits.maxCost)
          refusal = refuse(
            'cost',
            `the operation costs more than ${limits.maxCost} (each field 1, exams and bookings ${LIST_COST}, changes its limit); split it`,
          )
        else if (selection.selectionSet) visit(selection.selectionSet, depth + 1, inFragments)
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet, depth, inFragments)
      } else {
        const name = selection.name.value
        const fragment = fragments.get(name)
        if (!fragment || inFragments.has(name)) continue
        inFragments.add(name)
        visit(fragment.selectionSet, depth, inFragments)
        inFragments.delete(name)
      }
    }
  }
  visit(operation.selectionSet, 0, new Set())
  return refusal ?? { ok: true, cost, fields, aliases }
}

function refuse(reason: RefusalReason, message: string): Measure {
  return { ok: false, reason, message }
}

/** The `limit` argument as it will run: a literal, a variable's value, or the default. */
function changesLimit(field: FieldNode, variables: Record<string, unknown> | null | undefined): number {
  const argument = field.arguments?.find((arg) => arg.name.value === 'limit')
  if (!argument) return DEFAULT_CHANGES_LIMIT
  const value = valueOf(argument.value, variables)
  // A limit the resolver will refuse (not an integer, out of range) still costs its size here.
  return typeof value === 'number' && Number.isFinite(value) && value >= 1
    ? Math.ceil(value)
    : value === undefined
      ? DEFAULT_CHANGES_LIMIT
      : 1
}

function valueOf(node: ValueNode, variables: Record<string, unknown> | null | undefined): unknown {
  if (node.kind === Kind.INT || node.kind === Kind.FLOAT) return Number(node.value)
  if (node.kind === Kind.VARIABLE) {
    const value = variables?.[node.name.value]
    return value === null ? undefined : value
  }
  if (node.kind === Kind.NULL) return undefined
  return null
}
