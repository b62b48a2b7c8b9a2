// A CSV download button's state: busy while the file is fetched, then saved and announced, or the error shown.
import { useState } from 'react'
import type { CsvFile } from '../../src/client/index.js'
import { useApp } from './app-context.js'
import { saveFile } from './download.js'

/** `busy`, and `download(fetchFile)`: fetches (with the bearer header), saves, and toasts or alerts. */
export function useCsvDownload(onAlert: (message: string | null) => void) {
  const { describeError, toast } = useApp()
  const [busy, setBusy] = useState(false)
  async function download(fetchFile: () => Promise<CsvFile>): Promise<void> {
    setBusy(true)
    onAlert(null)
    try {
      const file = await fetchFile()
      saveFile(file)
      toast(`Downloaded ${file.filename}`, 'success')
    } catch (e) {
      onAlert(describeError(e))
    } finally {
      setBusy(false)
    }
  }
  return { busy, download }
}
