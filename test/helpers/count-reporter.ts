import type { Reporter, SerializedError, TestModule } from 'vitest/node';

/**
 * The last line scripts/test prints: `tests: N passed, N failed, N skipped`, plus test files that failed outside
 * any test (an import or a hook) and errors outside any file, which no test count shows.
 */
export default class CountReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    const n = { passed: 0, failed: 0, skipped: 0 };
    for (const m of testModules)
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed' || state === 'failed') n[state] += 1;
        else n.skipped += 1;
      }
    const brokenFiles = testModules.filter((m) => m.state() === 'failed' && m.children.allTests('failed').next().done);
    const extra = [
      brokenFiles.length ? `, ${brokenFiles.length} test file(s) failed outside any test` : '',
      unhandledErrors.length ? `, ${unhandledErrors.length} unhandled error(s)` : '',
    ].join('');
    console.log(`tests: ${n.passed} passed, ${n.failed} failed, ${n.skipped} skipped${extra}`);
  }
}
