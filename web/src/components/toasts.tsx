// Transient notifications, announced politely to screen readers and dismissible by keyboard.
import type { ToastKind } from '../app-context.js'

export interface ToastItem {
  id: number
  message: string
  kind: ToastKind
}

export function Toasts({ items, onDismiss }: { items: ToastItem[]; onDismiss(id: number): void }) {
  return (
    <div className="toasts" aria-live="polite" aria-relevant="additions">
      {items.map((t) => (
        <div key={t.id} className={`toast toast--${t.kind}`} data-testid="toast" data-kind={t.kind}>
          <span className="toast__text">{t.message}</span>
          <button type="button" className="toast__close" onClick={() => onDismiss(t.id)} aria-label="Dismiss">
            ×
          </button>
        </div>
      ))}
    </div>
  )
}
