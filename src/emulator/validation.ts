// The account's write-validation rules (required properties on create), enforced as HubSpot does on API writes since 2026-09.
import { HsError } from './errors.js'
import type { Changes } from './properties.js'
import type { ObjectDef } from './schema.js'

/**
 * HubSpot applies an admin's rules (conditionally required properties, required create-form
 * fields) to API writes and answers 400 VALIDATION_ERROR naming the property:
 * https://developers.hubspot.com/changelog/crm-api-write-validation-enforcement
 * The emulator models the create-form rule: a create without a required property is refused.
 */
export class ValidationRules {
  readonly #required = new Map<ObjectDef, Set<string>>()

  require(def: ObjectDef, properties: string[]): void {
    for (const name of properties)
      if (!def.properties.has(name))
        throw new HsError(400, 'VALIDATION_ERROR', `Property "${name.slice(0, 100)}" does not exist on ${def.name}`)
    const set = this.#required.get(def) ?? new Set<string>()
    for (const name of properties) set.add(name)
    this.#required.set(def, set)
  }

  clear(): void {
    this.#required.clear()
  }

  list(): Record<string, string[]> {
    return Object.fromEntries([...this.#required].map(([def, set]) => [def.name, [...set]]))
  }

  /** Throws HubSpot's 400 when a record created with `changes` would lack a required property. */
  checkCreate(def: ObjectDef, changes: Changes): void {
    const required = this.#required.get(def)
    if (!required) return
    const missing = [...required].filter((name) => {
      const value = changes[name]
      return value === undefined || value === null || value === ''
    })
    if (!missing.length) return
    throw new HsError(
      400,
      'VALIDATION_ERROR',
      `Missing required properties for ${def.singular} create: ${missing.join(', ')}. This account's validation rules require them on API writes.`,
      {
        errors: missing.map((name) => ({
          message: `${name} is required`,
          code: 'REQUIRED_PROPERTY',
          context: { propertyName: [name] },
        })),
      },
    )
  }
}
