// How the write path names itself in the change log: a hubmirror write, by the token's subject.
import type { ChangeOrigin } from '../model/records.js'

/** The change-log origin of a write made for this token subject. */
export function byHubmirror(subject: string | null | undefined): ChangeOrigin {
  return { kind: 'hubmirror', subject: subject ?? null }
}
