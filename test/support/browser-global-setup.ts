// Browser suite global setup: one real `hubmirror serve` (embedded defaults) for every browser test file.
import type { TestProject } from 'vitest/node'
import { chromiumAvailable, serverInfo, startServer, waitFor } from './browser-harness.js'

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (!chromiumAvailable()) {
    project.provide('hubmirror', null)
    return undefined
  }
  const server = await startServer()
  try {
    // The replica fills from the emulator's demo data; a pull nudges it along if it is not there yet.
    await waitFor(
      async () => {
        const { exams } = await server.api.listExams()
        if (exams.length === 0) await server.api.pullSync({}).catch(() => {})
        return exams.length > 0
      },
      180_000,
      'exams in the replica',
    )
  } catch (error) {
    await server.stop()
    throw error
  }
  project.provide('hubmirror', serverInfo(server))
  return () => server.stop()
}
