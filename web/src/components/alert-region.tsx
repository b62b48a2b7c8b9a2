// The one place a screen reports a failed action: exam full, missing permission, validation.
import { useCallback, useState } from 'react'

export function AlertRegion({ message, onDismiss }: { message: string | null; onDismiss(): void }) {
  if (!message) return null
  return (
    <div className="alert" role="alert" data-testid="alert">
      <span>{message}</span>
      <button type="button" className="link-button" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  )
}

export function useAlert(): [string | null, (message: string | null) => void] {
  const [message, setMessage] = useState<string | null>(null)
  const set = useCallback((m: string | null) => setMessage(m), [])
  return [message, set]
}
