// A booked/capacity bar whose colour follows how full the exam is.
import { fillLevel } from '../format.js'

export function CapacityBar({
  id,
  booked,
  capacity,
  compact = false,
}: {
  id: string
  booked: number
  capacity: number
  compact?: boolean
}) {
  const level = fillLevel(booked, capacity)
  const pct = capacity > 0 ? Math.min(100, (booked / capacity) * 100) : booked > 0 ? 100 : 0
  return (
    <div
      className={`capacity${compact ? ' capacity--compact' : ''}`}
      data-testid={`capacity-bar-${id}`}
      data-level={level}
      data-booked={booked}
      data-capacity={capacity}
    >
      <div
        className="capacity__track"
        role="meter"
        aria-label="Seats booked"
        aria-valuemin={0}
        aria-valuemax={Math.max(capacity, 1)}
        aria-valuenow={Math.min(booked, Math.max(capacity, 1))}
        aria-valuetext={`${booked} of ${capacity} seats booked`}
      >
        <div className={`capacity__fill fill--${level}`} style={{ width: `${pct}%` }} />
      </div>
      <span className="capacity__text">
        {booked} / {capacity}
        {level === 'full' ? <span className="capacity__full"> full</span> : null}
      </span>
    </div>
  )
}
