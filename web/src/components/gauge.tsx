// A labelled horizontal gauge for a budget (used of limit), coloured by how much is spent.
import { fillLevel, formatNumber } from '../format.js'

export function Gauge({ label, used, limit, testId }: { label: string; used: number; limit: number; testId?: string }) {
  const level = fillLevel(used, limit)
  const pct = limit > 0 ? Math.min(100, (used / limit) * 100) : 0
  return (
    <div className="gauge" data-testid={testId} data-level={level}>
      <div className="gauge__label">
        <span>{label}</span>
        <span className="gauge__value">
          {formatNumber(used)} / {formatNumber(limit)}
        </span>
      </div>
      <div
        className="gauge__track"
        role="meter"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={Math.max(limit, 1)}
        aria-valuenow={Math.min(used, Math.max(limit, 1))}
      >
        <div className={`gauge__fill fill--${level}`} style={{ width: `${pct}%` }} />
      </div>
    </div>
  )
}
