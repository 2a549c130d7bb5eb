// The import graph of a tree of TypeScript sources, for the test that keeps pkg/ free of
// circular imports. Every relative specifier counts — `import type`, `export … from`, side-effect
// and dynamic imports, require — because a type-only circle is still a circle a reader has to
// untangle. A scanner rather than the compiler: the typescript package here (7, native) has no
// JavaScript API.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** file (absolute path) → the files it imports (absolute paths, within the tree). */
export type ImportGraph = Map<string, string[]>;

/** The .ts files under `root` (recursively), tests and fixtures included. */
export function sourceFiles(root: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    const full = path.join(root, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out.sort();
}

/** The relative module specifiers `text` imports or re-exports (type-only ones included). */
export function relativeSpecifiers(text: string): string[] {
  const code = withoutComments(text);
  const out: string[] = [];
  // `… from './x'` ends every import and export that names a module; `import './x'`,
  // `import('./x')` and `require('./x')` are the forms without `from`.
  const forms = [/\bfrom\s*(['"])(\.{1,2}\/[^'"]*)\1/g, /\bimport\s*\(?\s*(['"])(\.{1,2}\/[^'"]*)\1/g, /\brequire\s*\(\s*(['"])(\.{1,2}\/[^'"]*)\1/g];
  for (const form of forms) for (const match of code.matchAll(form)) out.push(match[2]);
  return out;
}

/** `text` with its comments blanked out; string and template literals are kept as they are. */
export function withoutComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
      out += ' ';
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Resolves `spec` from `file` to a source file: x.ts, or x/index.ts; undefined if neither exists. */
export function resolveSpecifier(file: string, spec: string, exists: (p: string) => boolean = fs.existsSync): string | undefined {
  const base = path.resolve(path.dirname(file), spec.replace(/\.js$/, ''));
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (exists(candidate)) return candidate;
  return undefined;
}

/** The graph of `files`; imports that leave the set (e.g. pkg/ into test/) are dropped. */
export function importGraph(files: string[]): ImportGraph {
  const inSet = new Set(files);
  const graph: ImportGraph = new Map();
  for (const file of files) {
    const targets = new Set<string>();
    for (const spec of relativeSpecifiers(fs.readFileSync(file, 'utf8'))) {
      const target = resolveSpecifier(file, spec);
      if (target === undefined) throw new Error(`${file}: cannot resolve import '${spec}'`);
      if (inSet.has(target)) targets.add(target);
    }
    graph.set(file, Array.from(targets).sort());
  }
  return graph;
}

/**
 * The strongly connected components with more than one file (or a file importing itself):
 * each is a set of files that import each other in a circle (Tarjan's algorithm, iterative so
 * that a deep chain cannot overflow the stack).
 */
export function cycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let next = 0;
  for (const root of graph.keys()) {
    if (index.has(root)) continue;
    const work: Array<{ node: string; edge: number }> = [{ node: root, edge: 0 }];
    index.set(root, next);
    low.set(root, next++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const edges = graph.get(frame.node) ?? [];
      if (frame.edge < edges.length) {
        const to = edges[frame.edge++];
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, edge: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) !== index.get(frame.node)) continue;
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== frame.node);
      if (component.length > 1 || (graph.get(frame.node) ?? []).includes(frame.node)) out.push(component.sort());
    }
  }
  return out;
}

/** One concrete circle inside `component` (a → b → … → a), to show in a failure message. */
export function circleIn(graph: ImportGraph, component: string[]): string[] {
  const members = new Set(component);
  const start = component[0];
  const prev = new Map<string, string>();
  const queue = [start];
  const seen = new Set([start]);
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const to of graph.get(node) ?? []) {
      if (!members.has(to)) continue;
      if (to === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(prev.get(path[0])!);
        return [...path, start];
      }
      if (seen.has(to)) continue;
      seen.add(to);
      prev.set(to, node);
      queue.push(to);
    }
  }
  return component;
}

/**
 * The graph of groups of files (e.g. folders): an edge A → B when a file of A imports one of B.
 * Files `groupOf` maps to undefined are left out.
 */
export function groupGraph(graph: ImportGraph, groupOf: (file: string) => string | undefined): ImportGraph {
  const edges = new Map<string, Set<string>>();
  for (const [file, targets] of graph) {
    const from = groupOf(file);
    if (from === undefined) continue;
    if (!edges.has(from)) edges.set(from, new Set());
    for (const target of targets) {
      const to = groupOf(target);
      if (to !== undefined && to !== from) edges.get(from)!.add(to);
    }
  }
  return new Map(Array.from(edges, ([group, targets]) => [group, Array.from(targets).sort()]));
}

/** Tests, fixtures and test helpers: they may reach anywhere, and nothing imports them but tests. */
export function isTestCode(file: string): boolean {
  return /\.(test|fixture)\.ts$/.test(file) || path.basename(file) === 'test-helpers.ts';
}
