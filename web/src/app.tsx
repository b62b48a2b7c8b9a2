// The dashboard shell: sign-in gate, header (nav, live indicator, refresh), routed screens, toasts.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import {
  createChangeFeed,
  createHubmirrorApi,
  isHubmirrorError,
  type ChangeEvent,
  type ChangeFeed,
  type ChangeStatus,
  type Permission,
} from '../../src/client/index.js'
import { AppContext, type AppContextValue, type ToastKind } from './app-context.js'
import { LiveIndicator } from './components/live-indicator.js'
import { Toasts, type ToastItem } from './components/toasts.js'
import { describePull } from './format.js'
import { OwnWrites, summarizeChanges } from './remote-changes.js'
import { href, navigate, useRoute } from './router.js'
import { ExamDetail } from './screens/exam-detail.js'
import { ExamForm } from './screens/exam-form.js'
import { ExamRoster } from './screens/exam-roster.js'
import { ExamsOverview } from './screens/exams-overview.js'
import { SignIn } from './screens/sign-in.js'
import { StudentSearch } from './screens/student-search.js'
import { SyncStatusScreen } from './screens/sync-status.js'
import {
  adoptTokenFromUrl,
  isExpired,
  takeSignInCode,
  loadStoredToken,
  onStoredTokenChange,
  sessionFromToken,
  storeToken,
  type Session,
} from './session.js'
import { useSmartPull } from './smart-pull.js'

const BASE_URL = window.location.origin
// `?transport=long-poll` forces the fallback, for proxies that buffer SSE (and for testing it).
const TRANSPORT = new URLSearchParams(window.location.search).get('transport') === 'long-poll' ? 'long-poll' : undefined

/** `signInCode`: the printed link's one-time code, already taken out of the address bar (main.tsx). */
export function App({ signInCode = null }: { signInCode?: string | null }) {
  const [token, setToken] = useState(loadStoredToken)
  const [notice, setNotice] = useState<string | null>(null)
  const session = useMemo(() => (token ? sessionFromToken(token) : null), [token])

  // The printed link carries a one-time code, not a token: traded once for the session's token.
  const exchangeCode = useCallback(async (code: string) => {
    setNotice('Signing in from the link…')
    try {
      const body = await createHubmirrorApi({ baseUrl: BASE_URL, token: null }).exchangeSignInCode(code)
      storeToken(body.token)
      setNotice(null)
      setToken(body.token)
    } catch (err) {
      setNotice(`This sign-in link did not work: ${isHubmirrorError(err) ? err.message : String(err)}`)
    }
  }, [])
  // Once: StrictMode runs effects twice, and the code is good for one exchange.
  const codeTried = useRef(false)
  useEffect(() => {
    if (!signInCode || codeTried.current) return
    codeTried.current = true
    void exchangeCode(signInCode)
  }, [signInCode, exchangeCode])

  // Signing in or out in another tab applies here too.
  useEffect(() => onStoredTokenChange(setToken), [])
  // A sign-in link opened in a tab that already runs the app only changes the hash.
  useEffect(() => {
    const onHash = () => {
      const code = takeSignInCode()
      if (code) return void exchangeCode(code)
      if (!window.location.hash.startsWith('#token=')) return
      adoptTokenFromUrl()
      setNotice(null)
      setToken(loadStoredToken())
    }
    window.addEventListener('hashchange', onHash)
    return () => window.removeEventListener('hashchange', onHash)
  }, [exchangeCode])

  const signIn = useCallback((next: string) => {
    storeToken(next)
    setNotice(null)
    setToken(next)
  }, [])
  const signOut = useCallback((why?: string) => {
    storeToken(null)
    setNotice(why ?? null)
    setToken(null)
  }, [])

  if (!session || isExpired(session)) {
    return (
      <SignIn
        baseUrl={BASE_URL}
        notice={session ? 'Your session has expired. Sign in again.' : notice}
        onSignIn={signIn}
      />
    )
  }
  // Keyed by who is signed in, not by the token: a refreshed token (a Supabase front end writing
  // hubmirror.token, a new #token= link) carries on with the same feed and its cursor.
  return <SignedIn key={String(session.payload?.sub ?? '')} session={session} onSignOut={signOut} />
}

function SignedIn({ session, onSignOut }: { session: Session; onSignOut(why?: string): void }) {
  const route = useRoute()
  const [toasts, setToasts] = useState<ToastItem[]>([])
  const [status, setStatus] = useState<ChangeStatus>('connecting')
  const [pulling, setPulling] = useState(false)
  const nextToastId = useRef(1)
  const ownWrites = useMemo(() => new OwnWrites(), [])
  const tokenRef = useRef(session.token)
  tokenRef.current = session.token
  const api = useMemo(() => createHubmirrorApi({ baseUrl: BASE_URL, token: () => tokenRef.current }), [])
  // Created in an effect, not a memo: StrictMode's mount/unmount/mount must not reuse a closed feed.
  const [feed, setFeed] = useState<ChangeFeed | null>(null)
  useEffect(() => {
    const next = createChangeFeed({
      baseUrl: BASE_URL,
      // Read on every request: the stream is reopened with a refreshed token before the old one expires.
      token: () => tokenRef.current,
      ...(TRANSPORT ? { transport: TRANSPORT } : {}),
      onError(error) {
        setStatus('offline')
        if (error.code === 'E_UNAUTHORIZED') onSignOut('The server did not accept your token. Sign in again.')
      },
    })
    const off = next.onStatus(setStatus)
    setFeed(next)
    return () => {
      off()
      next.close()
    }
  }, [onSignOut])

  const dismissToast = useCallback((id: number) => setToasts((list) => list.filter((t) => t.id !== id)), [])
  const toast = useCallback(
    (message: string, kind: ToastKind = 'info') => {
      const id = nextToastId.current++
      setToasts((list) => [...list.slice(-3), { id, message, kind }])
      setTimeout(() => dismissToast(id), kind === 'error' ? 10_000 : 6_000)
    },
    [dismissToast],
  )

  // Remote changes, toasted in bursts so a pull of 200 rows is one toast, not 200.
  useEffect(() => {
    if (!feed) return
    let pending: ChangeEvent[] = []
    let timer: ReturnType<typeof setTimeout> | undefined
    const flush = () => {
      timer = undefined
      if (pending.length > 0) toast(summarizeChanges(pending))
      pending = []
    }
    const sub = feed.subscribe({
      after: null,
      onEvent(event) {
        if (ownWrites.isOwn(event)) return
        pending.push(event)
        timer ??= setTimeout(flush, 400)
      },
      // Only notifications: nothing to reload, just carry on from the head.
      onRefetch: (head) => sub.resume(head || null),
    })
    return () => {
      sub.close()
      clearTimeout(timer)
    }
  }, [feed, ownWrites, toast])

  const can = useCallback((p: Permission) => session.permissions.has(p), [session])

  const describeError = useCallback(
    (error: unknown): string => {
      if (!isHubmirrorError(error)) return error instanceof Error ? error.message : String(error)
      switch (error.code) {
        case 'E_UNAUTHORIZED':
          onSignOut('The server did not accept your token. Sign in again.')
          return error.message
        case 'E_FORBIDDEN':
          return `Not allowed: ${error.message}`
        case 'E_EXAM_FULL':
          return `This exam is full: ${error.message}`
        case 'E_NETWORK':
          return 'Cannot reach the hubmirror server. Check your connection and try again.'
        default:
          return error.field ? `${error.message} (${error.field})` : error.message
      }
    },
    [onSignOut],
  )

  const pull = useCallback(async () => {
    setPulling(true)
    try {
      return await api.pullSync({})
    } finally {
      setPulling(false)
    }
  }, [api])

  const refresh = async () => {
    try {
      toast(describePull(await pull()), 'success')
    } catch (error) {
      toast(`Refresh failed. ${describeError(error)}`, 'error')
    }
  }

  useSmartPull(can('sync.run') ? pull : null)

  const ctx: AppContextValue | null = useMemo(
    () =>
      feed && {
        session,
        api,
        baseUrl: BASE_URL,
        feed,
        can,
        toast,
        markOwnWrite: (keys) => ownWrites.mark(keys),
        describeError,
      },
    [session, api, feed, can, toast, ownWrites, describeError],
  )

  const subject = typeof session.payload?.sub === 'string' ? session.payload.sub : 'admin'
  if (!ctx) return null

  return (
    <AppContext.Provider value={ctx}>
      <a
        className="skip-link"
        href="#main"
        onClick={(e) => {
          e.preventDefault()
          document.getElementById('main')?.focus()
        }}
      >
        Skip to content
      </a>
      <header className="topbar">
        <a className="brand" href={href.overview()}>
          hubmirror
        </a>
        <nav className="nav" aria-label="Main">
          <a href={href.overview()} aria-current={route.name === 'overview' ? 'page' : undefined}>
            Exams
          </a>
          <a href={href.sync()} aria-current={route.name === 'sync' ? 'page' : undefined}>
            Sync status
          </a>
        </nav>
        {can('exams.view') ? <HeaderSearch current={route.name === 'students' ? route.q : ''} /> : null}
        <div className="topbar__tools">
          <LiveIndicator status={status} />
          {can('sync.run') ? (
            <button
              type="button"
              className="button"
              data-testid="refresh-button"
              onClick={refresh}
              disabled={pulling}
              aria-busy={pulling}
            >
              {pulling ? 'Refreshing…' : 'Refresh'}
            </button>
          ) : null}
          <span className="who" title={[...session.permissions].join(', ')}>
            {subject}
          </span>
          <button type="button" className="button button--quiet" data-testid="sign-out" onClick={() => onSignOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {!can('exams.view') ? (
          <p className="empty">
            This token has no <code>exams.view</code> permission, so there is nothing to show.
          </p>
        ) : route.name === 'overview' ? (
          <ExamsOverview />
        ) : route.name === 'exam' ? (
          <ExamDetail key={route.id} examId={route.id} />
        ) : route.name === 'exam-new' ? (
          <ExamForm />
        ) : route.name === 'exam-edit' ? (
          <ExamForm key={route.id} examId={route.id} />
        ) : route.name === 'exam-roster' ? (
          <ExamRoster key={route.id} examId={route.id} />
        ) : route.name === 'students' ? (
          <StudentSearch q={route.q} />
        ) : route.name === 'sync' ? (
          <SyncStatusScreen />
        ) : (
          <p className="empty">
            No page at <code>{route.path}</code>. <a href={href.overview()}>Back to exams</a>
          </p>
        )}
      </main>
      <Toasts items={toasts} onDismiss={dismissToast} />
    </AppContext.Provider>
  )
}

/** The header's "find a student" box: lands on their bookings across exams. */
function HeaderSearch({ current }: { current: string }) {
  const [q, setQ] = useState(current)
  useEffect(() => setQ(current), [current])
  return (
    <form
      className="topbar__search"
      role="search"
      aria-label="Find a student"
      onSubmit={(e) => {
        e.preventDefault()
        if (q.trim()) navigate(href.students(q.trim()))
      }}
    >
      {/* Not "name": other forms' fields are found by their labels ("Name", "Student name"). */}
      <label htmlFor="header-search" className="visually-hidden">
        Find a student
      </label>
      <input
        id="header-search"
        type="search"
        value={q}
        onChange={(e) => setQ(e.target.value)}
        placeholder="Find a student…"
        title="Part of a student's name, email or student ID"
        data-testid="header-search"
      />
    </form>
  )
}
