// The Node.js and npm the project is built, tested and shipped with: one pinned LTS
// (scripts/tool-pins.sh) for CI (scripts/setup.sh), the image (Dockerfile's FROM) and
// package.json's engines; and a package-lock.json that `npm ci` accepts as it is.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../support/s3files-server';

const execFileP = promisify(execFile);

/** NAME=value lines of scripts/tool-pins.sh. */
function nodePin(): Record<string, string> {
  const text = fs.readFileSync(path.join(REPO_ROOT, 'scripts', 'tool-pins.sh'), 'utf8');
  return Object.fromEntries([...text.matchAll(/^([A-Z_a-z0-9]+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
}

/** npm beside the running node (.tools/node/bin/npm) if there is one, else the machine's. */
function npmCommand(): string[] {
  const beside = path.join(path.dirname(process.execPath), 'npm');
  return fs.existsSync(beside) ? [process.execPath, beside] : ['npm'];
}

/** `npm ci --dry-run` on a copy of package.json with the given lock: resolves or rejects with npm's message. */
async function npmCiDryRun(lock: string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3files-lock-'));
  try {
    fs.copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(dir, 'package.json'));
    fs.writeFileSync(path.join(dir, 'package-lock.json'), lock);
    const [cmd, ...args] = npmCommand();
    await execFileP(cmd, [...args, 'ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, timeout: 120_000 });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('toolchain: the pinned Node.js LTS and the lock file', function () {
  this.timeout(180_000);
  const pin = nodePin();
  const major = Number(pin.NODE_VERSION.split('.')[0]);

  it('the tests run on the pinned LTS (or a newer machine node)', () => {
    const running = Number(process.versions.node.split('.')[0]);
    assert.ok(running >= major, `tests run on Node ${process.version}, the project pins ${pin.NODE_VERSION}`);
    const tools = path.join(REPO_ROOT, '.tools', 'node', 'bin', 'node');
    if (fs.existsSync(tools)) assert.equal(process.execPath, fs.realpathSync(tools), 'the project installed its own node: the tests must run on it');
  });

  it("the image's base is the pinned release, and engines admits it", () => {
    const dockerfile = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const froms = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    assert.ok(froms.length >= 2, dockerfile);
    for (const from of froms) assert.equal(from, `node:${pin.NODE_VERSION}-bookworm-slim`);
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
    assert.equal(pkg.engines.node, `>=${major}`);
  });

  it('npm ci accepts the committed package-lock.json', async () => {
    await npmCiDryRun(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8'));
  });

  it('npm ci refuses a lock file missing an optional platform package (the check can fail)', async () => {
    const lock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
    const dropped = 'node_modules/@msgpackr-extract/msgpackr-extract-darwin-arm64';
    assert.ok(lock.packages[dropped], `${dropped} is in the lock`);
    delete lock.packages[dropped];
    await assert.rejects(npmCiDryRun(JSON.stringify(lock, null, 2)), /Missing: @msgpackr-extract\/msgpackr-extract-darwin-arm64/);
  });
});
