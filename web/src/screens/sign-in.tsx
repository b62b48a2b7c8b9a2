// Sign-in: paste a bearer token (or arrive via the one-time link that `npm start` prints).
import { useState, type FormEvent } from 'react'
import { createHubmirrorApi, decodeTokenPayload, isHubmirrorError } from '../../../src/client/index.js'

export function SignIn({
  baseUrl,
  notice,
  onSignIn,
}: {
  baseUrl: string
  notice: string | null
  onSignIn(token: string): void
}) {
  const [token, setToken] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  async function submit(e: FormEvent) {
    e.preventDefault()
    const value = token.trim().replace(/^Bearer\s+/i, '')
    if (!decodeTokenPayload(value)) {
      setError('That does not look like a token (expected three dot-separated parts).')
      return
    }
    setBusy(true)
    setError(null)
    try {
      // Ask the server once, so a wrong or expired token is reported here rather than on every screen.
      await createHubmirrorApi({ baseUrl, token: value }).getSyncStatus()
      onSignIn(value)
    } catch (err) {
      if (isHubmirrorError(err) && err.code === 'E_FORBIDDEN') onSignIn(value)
      else if (isHubmirrorError(err) && err.code === 'E_UNAUTHORIZED')
        setError(`The server rejected this token: ${err.message}`)
      else setError(isHubmirrorError(err) ? err.message : String(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <main className="signin" id="main">
      <h1>hubmirror</h1>
      <p className="muted">Mock exams and bookings, mirrored live from HubSpot.</p>
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      <form onSubmit={submit} className="card form" data-testid="sign-in-form">
        <div className="field">
          <label htmlFor="token">Access token</label>
          <textarea
            id="token"
            name="token"
            rows={4}
            value={token}
            onChange={(e) => setToken(e.target.value)}
            placeholder="eyJhbGciOi…"
            autoComplete="off"
            spellCheck={false}
            required
          />
        </div>
        {error ? (
          <p className="alert" role="alert" data-testid="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" className="button button--primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
      <p className="muted small">
        Open the one-time sign-in link that <code>npm start</code> prints in its terminal (or with{' '}
        <code>--print-link</code>), or create a token with{' '}
        <code>npx hubmirror token --permissions exams.view,exams.edit,bookings.edit,sync.run</code>.
      </p>
    </main>
  )
}
