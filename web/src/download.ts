// Saving a file the API returned: a download needs the bearer header, so it is fetched, then handed to the browser.
import type { CsvFile } from '../../src/client/index.js'

export function saveFile(file: CsvFile): void {
  const url = URL.createObjectURL(file.blob)
  const link = document.createElement('a')
  link.href = url
  link.download = file.filename
  link.hidden = true
  document.body.append(link)
  link.click()
  link.remove()
  // After the click has started the download; revoking at once can cancel it in some browsers.
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}
