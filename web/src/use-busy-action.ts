// Which of a screen's named actions is running (one at a time), with its failure shown in the screen's alert.
import { useState } from 'react'
import { useApp } from './app-context.js'

export interface BusyAction {
  /** The running action's name, or null. */
  busy: string | null
  run(name: string, fn: () => Promise<void>): Promise<void>
}

export function useBusyAction(onAlert: (message: string | null) => void): BusyAction {
  const { describeError } = useApp()
  const [busy, setBusy] = useState<string | null>(null)
  async function run(name: string, fn: () => Promise<void>): Promise<void> {
    setBusy(name)
    onAlert(null)
    try {
      await fn()
    } catch (e) {
      onAlert(describeError(e))
    } finally {
      setBusy(null)
    }
  }
  return { busy, run }
}
