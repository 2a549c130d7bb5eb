// Gate for end-to-end suites: they FAIL when the machine lacks what they need (so CI cannot
// silently go green without running them) unless S3FILES_SKIP_E2E=1 asks to skip them.
import { umlPrerequisites } from './uml-modules';

export const SKIP_E2E = process.env.S3FILES_SKIP_E2E === '1';

/**
 * Call from a `before` hook: skips the suite when S3FILES_SKIP_E2E=1, otherwise throws if
 * linux.uml, its NFS modules or the listed extra commands are missing.
 */
export function requireE2E(ctx: Mocha.Context, extra: Array<{ ok: boolean; what: string }> = []): void {
  if (SKIP_E2E) {
    // eslint-disable-next-line no-console
    console.log('    (skipping end-to-end suite: S3FILES_SKIP_E2E=1)');
    ctx.skip();
  }
  const missing = [...umlPrerequisites(), ...extra.filter((e) => !e.ok).map((e) => e.what)];
  if (missing.length > 0) {
    throw new Error(`end-to-end prerequisites missing: ${missing.join('; ')} ` +
      '(install them, or set S3FILES_SKIP_E2E=1 to skip these tests)');
  }
}
