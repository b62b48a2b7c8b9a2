// A button that starts one of a screen's named actions; every such button waits while any of them runs.
import type { ReactNode } from 'react'
import type { BusyAction } from '../use-busy-action.js'

export function ActionButton({
  action,
  name,
  run,
  busyLabel,
  disabled = false,
  className = 'button',
  testId,
  children,
}: {
  action: BusyAction
  name: string
  run(): Promise<void>
  /** Shown instead of the label while this action runs. */
  busyLabel?: string
  disabled?: boolean
  className?: string
  testId?: string
  children: ReactNode
}) {
  return (
    <button
      type="button"
      className={className}
      data-testid={testId}
      disabled={action.busy !== null || disabled}
      onClick={() => void action.run(name, run)}
    >
      {busyLabel !== undefined && action.busy === name ? busyLabel : children}
    </button>
  )
}
