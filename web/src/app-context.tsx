// What every screen needs: the API, the session's permissions, the shared change feed, toasts.
import { createContext, useContext } from 'react'
import type { ChangeFeed, HubmirrorApi, Permission } from '../../src/client/index.js'
import type { Session } from './session.js'

export type ToastKind = 'info' | 'success' | 'error'

export interface AppContextValue {
  session: Session
  api: HubmirrorApi
  baseUrl: string
  feed: ChangeFeed
  can(permission: Permission): boolean
  toast(message: string, kind?: ToastKind): void
  /**
   * Declares that this tab is about to change these records (hubspot ids, booking idempotency
   * keys, exam ids, `name:<exam name>`), so the change events it causes are not toasted as remote.
   */
  markOwnWrite(keys: (string | null | undefined)[]): void
  /** Reports an error from an API call; a 401 ends the session. Returns a message for an alert. */
  describeError(error: unknown): string
}

export const AppContext = createContext<AppContextValue | null>(null)

export function useApp(): AppContextValue {
  const value = useContext(AppContext)
  if (!value) throw new Error('useApp outside <AppContext>')
  return value
}
