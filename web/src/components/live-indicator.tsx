// The realtime connection's state: green live, amber connecting/reconnecting, red offline.
import type { ChangeStatus } from '../../../src/client/index.js'

const LABEL: Record<ChangeStatus, string> = {
  live: 'Live',
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
}

export function LiveIndicator({ status }: { status: ChangeStatus }) {
  return (
    <span
      className={`live live--${status}`}
      data-testid="live-indicator"
      data-state={status}
      role="status"
      title={status === 'live' ? 'Changes appear as they happen' : 'Changes may be delayed'}
    >
      <span className="live__dot" aria-hidden="true" />
      {LABEL[status]}
    </span>
  )
}
