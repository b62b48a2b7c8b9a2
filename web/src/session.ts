// The signed-in token: from the sign-in link's one-time #code=, a #token= link or a paste, kept in localStorage.
import { decodeTokenPayload, tokenPermissions, type Permission, type TokenPayload } from '../../src/client/index.js'

const STORAGE_KEY = 'hubmirror.token'

export interface Session {
  token: string
  payload: TokenPayload | null
  permissions: Set<Permission>
  /** Seconds since epoch, when the token says. */
  expiresAt: number | null
}

export function sessionFromToken(token: string): Session {
  const payload = decodeTokenPayload(token)
  return {
    token,
    payload,
    permissions: tokenPermissions(payload),
    expiresAt: typeof payload?.exp === 'number' ? payload.exp : null,
  }
}

export function isExpired(session: Session, nowMs = Date.now()): boolean {
  return session.expiresAt !== null && session.expiresAt * 1000 <= nowMs
}

/**
 * Takes a token from the URL fragment (what `npm start` prints) into storage and strips it from
 * the address bar, so it is not left in history, bookmarks or screenshots.
 */
export function adoptTokenFromUrl(): void {
  const match = /^#token=([^&]+)/.exec(window.location.hash)
  if (!match?.[1]) return
  storeToken(decodeURIComponent(match[1]))
  window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}#/`)
}

/**
 * Takes the one-time code of the link `hubmirror serve` prints out of the address bar at once: it
 * is good for one exchange, and a reload or a second effect run must not try it again.
 */
export function takeSignInCode(): string | null {
  const match = /^#code=([^&]+)/.exec(window.location.hash)
  if (!match?.[1]) return null
  window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}#/`)
  return decodeURIComponent(match[1])
}

export function loadStoredToken(): string | null {
  try {
    return window.localStorage.getItem(STORAGE_KEY)
  } catch {
    return null
  }
}

export function storeToken(token: string | null): void {
  try {
    if (token) window.localStorage.setItem(STORAGE_KEY, token)
    else window.localStorage.removeItem(STORAGE_KEY)
  } catch {
    // Private modes may refuse storage; the session then lasts as long as the tab.
  }
}

export function onStoredTokenChange(listener: (token: string | null) => void): () => void {
  const handler = (e: StorageEvent) => {
    if (e.key === STORAGE_KEY) listener(e.newValue)
  }
  window.addEventListener('storage', handler)
  return () => window.removeEventListener('storage', handler)
}
