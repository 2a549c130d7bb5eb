// Makes npm scripts and npx run on the project's Node.js (.tools/node, installed by
// scripts/install-node.sh when the machine's node is older than the pinned LTS).
//
// Why a link in node_modules/.bin: npm puts node_modules/.bin first on PATH for every script
// (`npm test`, `npm run ...`, the postinstall) and for `npx`, so `#!/usr/bin/env node` in
// bin/s3files, mocha and tsc, and the tests' `process.execPath`, all resolve to the pinned
// Node whichever node runs npm itself. `npm ci` empties node_modules; the postinstall
// (scripts/build-lmdb.mjs) calls this again. Without .tools/node it removes a stale link, and
// the machine's node is used.
import { existsSync, lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The project's node binary, or null when it has none (the machine's node is recent enough). */
export function projectNode() {
  const node = join(root, '.tools', 'node', 'bin', 'node');
  return existsSync(node) ? node : null;
}

/** Points node_modules/.bin/node at the project's node (or removes the link if there is none). */
export function linkProjectNode() {
  const binDir = join(root, 'node_modules', '.bin');
  const link = join(binDir, 'node');
  const node = projectNode();
  const target = node ? relative(binDir, node) : null;
  let current = null;
  try {
    current = lstatSync(link).isSymbolicLink() ? readlinkSync(link) : 'not a link';
  } catch {
    // no link yet
  }
  if (current === target) return;
  rmSync(link, { force: true });
  if (target) {
    mkdirSync(binDir, { recursive: true });
    symlinkSync(target, link);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) linkProjectNode();
