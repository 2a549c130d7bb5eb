// Summarises a V8 CPU profile (node --cpu-prof, e.g. from `rpc-bench.js --prof DIR`): self
// time by function and by area (our packages, node internals, dependencies, GC, idle), and
// inclusive time of the functions matching --match. For finding where a call's time goes.
//
//   node dist/bench/rpc-profile.js DIR/CPU.*.cpuprofile [--top 40] [--match dispatch,resolve]
import fs from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function area(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native)';
  const m = /\/(pkg\/[a-z0-9-]+|cmd|node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (m) return m[1]!.replace('node_modules/', '');
  if (url.startsWith('node:')) return 'node:internal';
  return url;
}

function label(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  const file = url.replace(/^.*\/(dist|node_modules)\//, '$1/').replace(/^node:internal\//, 'node:');
  return `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
}

function top(map: Map<string, number>, total: number, n: number): string[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${((v / total) * 100).toFixed(1).padStart(5)}%  ${(v / 1000).toFixed(0).padStart(7)} ms  ${k}`);
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '40' }, match: { type: 'string' } },
  });
  const profile = JSON.parse(fs.readFileSync(positionals[0]!, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  let total = 0;
  let idle = 0;
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const patterns = values.match?.split(',') ?? [];
  for (const [id, t] of self) {
    const n = byId.get(id)!;
    if (n.callFrame.functionName === '(idle)') {
      idle += t;
      continue;
    }
    total += t;
    byFn.set(label(n), (byFn.get(label(n)) ?? 0) + t);
    const a = area(n.callFrame.url, n.callFrame.functionName);
    byArea.set(a, (byArea.get(a) ?? 0) + t);
    // Inclusive time: once per matching frame name on the stack.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const name = byId.get(cur)!.callFrame.functionName;
      for (const p of patterns) if (name.includes(p) && !seen.has(name)) seen.add(name);
    }
    for (const name of seen) inclusive.set(name, (inclusive.get(name) ?? 0) + t);
  }
  const n = Number(values.top);
  console.log(`busy ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms\n\nby area (self time):`);
  console.log(top(byArea, total, 30).join('\n'));
  console.log('\nby function (self time):');
  console.log(top(byFn, total, n).join('\n'));
  if (patterns.length > 0) {
    console.log('\ninclusive:');
    console.log(top(inclusive, total, 100).join('\n'));
  }
}

main();
