// Prints one closing line over Vitest's JSON reports: "N passed, N failed, N skipped".
import { existsSync, readFileSync } from 'node:fs'

let passed = 0
let failed = 0
let skipped = 0
let missing = 0
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    missing += 1
    continue
  }
  const report = JSON.parse(readFileSync(file, 'utf8'))
  passed += report.numPassedTests
  // A file that fails to load has no failed test but is a failed suite.
  failed += Math.max(report.numFailedTests, report.numFailedTestSuites ?? 0)
  skipped += report.numPendingTests + (report.numTodoTests ?? 0)
}
if (missing) failed += missing
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(failed > 0 || passed === 0 ? 1 : 0)
