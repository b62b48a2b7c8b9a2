// The import-rule checker run by `npm run lint` passes on the tree and fails on an arrow that runs the wrong way.
import { describe, expect, it } from 'vitest'
import { checkRepo, checkSource } from '../../scripts/check-imports.js'

describe('import rules', () => {
  it('hold for the whole tree', () => {
    expect(checkRepo('.')).toEqual([])
  })

  it('catch a wrong-way arrow: the replica importing the sync engine', () => {
    const violations = checkSource('src/replica/records.ts', "import { createSyncEngine } from '../sync/index.js'\n")
    expect(violations).toHaveLength(1)
    expect(violations[0]!.rule).toMatch(/replica may not import sync/)
  })

  it('catch Fastify in realtime, test helpers in product code, and a dynamic import', () => {
    expect(checkSource('src/realtime/hub.ts', "import type { FastifyReply } from 'fastify'\n")).toHaveLength(1)
    expect(checkSource('src/sync/engine.ts', "import { within } from '../../test/support/wait.js'\n")).toHaveLength(1)
    expect(
      checkSource('src/hubspot/client.ts', "const m = await import('../bookings/write-service.js')\n"),
    ).toHaveLength(1)
    expect(checkSource('web/src/app.tsx', "import { openReplica } from '../../src/replica/index.js'\n")).toHaveLength(1)
  })

  it('let an arrow that runs the right way through', () => {
    expect(checkSource('src/sync/pull.ts', "import { upsertExams } from '../replica/index.js'\n")).toEqual([])
  })
})
