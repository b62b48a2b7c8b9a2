// The import-rule checker run by `npm run lint` passes on the tree and fails on an arrow that runs the wrong way.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkRepo, checkSource } from '../../scripts/check-imports.js'
import { tempDir } from '../support/env.js'

describe('import rules', () => {
  it('hold for the whole tree', () => {
    expect(checkRepo('.')).toEqual([])
  })

  it('catch a wrong-way arrow: the replica importing the sync engine', () => {
    const violations = checkSource('src/replica/records.ts', "import { createSyncEngine } from '../sync/index.js'\n")
    expect(violations).toHaveLength(1)
    expect(violations[0]!.rule).toMatch(/replica may not import sync/)
  })

  it('find a wrong-way arrow in a tree, as `npm run lint` walks it', () => {
    const tree = tempDir('hubmirror-imports-')
    try {
      for (const dir of ['src/replica', 'src/sync', 'web/src']) mkdirSync(join(tree.path, dir), { recursive: true })
      writeFileSync(join(tree.path, 'src/sync/engine.ts'), "import { LOCKS } from '../replica/index.js'\n")
      writeFileSync(join(tree.path, 'src/replica/sync-state.ts'), "import type { SyncType } from '../sync/types.js'\n")
      expect(checkRepo(tree.path)).toEqual([
        {
          file: 'src/replica/sync-state.ts',
          imports: '../sync/types.js',
          rule: 'replica may not import sync (allowed: model, errors, logger, config)',
        },
      ])
    } finally {
      tree.remove()
    }
  })

  it('catch Fastify in realtime, test helpers in product code, and a dynamic import', () => {
    expect(checkSource('src/realtime/hub.ts', "import type { FastifyReply } from 'fastify'\n")).toHaveLength(1)
    expect(checkSource('src/sync/engine.ts', "import { within } from '../../test/support/wait.js'\n")).toHaveLength(1)
    expect(
      checkSource('src/hubspot/client.ts', "const m = await import('../bookings/write-service.js')\n"),
    ).toHaveLength(1)
    expect(checkSource('web/src/app.tsx', "import { openReplica } from '../../src/replica/index.js'\n")).toHaveLength(1)
  })

  it('keep test fakes out of src: a fake server beside the client is refused, its test and a mock exam are not', () => {
    expect(checkSource('src/client/fake-server.ts', '')).toEqual([
      { file: 'src/client/fake-server.ts', imports: '', rule: 'test fakes live under test/support, not in src' },
    ])
    expect(checkSource('src/emulator/stub-faults.ts', '')).toHaveLength(1)
    expect(checkSource('src/client/fake-server.test.ts', '')).toEqual([])
    expect(checkSource('src/bookings/mock-exam-rules.ts', '')).toEqual([])
  })

  it('let an arrow that runs the right way through', () => {
    expect(checkSource('src/sync/pull.ts', "import { upsertExams } from '../replica/index.js'\n")).toEqual([])
  })
})
