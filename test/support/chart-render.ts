// Renders charts/s3files without a helm binary (none can be installed here): a small evaluator
// for the subset of Go templates the chart uses, kept deliberately small so that the chart stays
// simple. Supported: {{ .Values.a.b }}, .Release.Name/.Namespace, .Chart.Name/.Version/.AppVersion,
// string literals, pipelines with toYaml, nindent N, indent N, quote, default, not;
// {{ if X }} / {{ else }} / {{ end }}; {{/* comments */}}; "{{-" and "-}}" whitespace trimming.
// Anything else is an error, so a template that real Helm would render differently fails loudly.
//
// Run directly, it writes the chart's default rendering into manifests/ (npm run gen:manifests):
//   node dist/test/support/chart-render.js charts/s3files manifests
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';

type Node = { t: 'text'; s: string } | { t: 'expr'; e: string } | { t: 'if'; cond: string; then: Node[]; else: Node[] };

export interface RenderOptions {
  releaseName?: string;
  namespace?: string;
  /** Deep-merged over values.yaml. */
  values?: Record<string, unknown>;
}

export interface RenderedChart {
  /** Template file (relative to the chart, e.g. "templates/node.yaml") → its objects. */
  files: Map<string, Record<string, unknown>[]>;
  objects: Record<string, unknown>[];
}

function tokenize(src: string): Node[] {
  const out: Node[] = [];
  const re = /\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g;
  let last = 0;
  let trimNext = false;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    let text = src.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (m[1] === '-') text = text.replace(/\s+$/, '');
    if (text) out.push({ t: 'text', s: text });
    const action = m[2] as string;
    if (!action.startsWith('/*')) out.push({ t: 'expr', e: action });
    trimNext = m[3] === '-';
    last = re.lastIndex;
  }
  let tail = src.slice(last);
  if (trimNext) tail = tail.replace(/^\s+/, '');
  if (tail) out.push({ t: 'text', s: tail });
  return out;
}

/** Turns the flat token list into a tree of if/else/end blocks. */
function parse(tokens: Node[]): Node[] {
  let i = 0;
  const block = (): { nodes: Node[]; stop: string } => {
    const nodes: Node[] = [];
    while (i < tokens.length) {
      const tok = tokens[i++] as Node;
      if (tok.t !== 'expr') {
        nodes.push(tok);
        continue;
      }
      if (tok.e === 'end' || tok.e === 'else') return { nodes, stop: tok.e };
      if (tok.e.startsWith('if ')) {
        const then = block();
        const otherwise = then.stop === 'else' ? block() : { nodes: [], stop: 'end' };
        if (otherwise.stop !== 'end') throw new Error(`unterminated {{ if ${tok.e.slice(3)} }}`);
        nodes.push({ t: 'if', cond: tok.e.slice(3).trim(), then: then.nodes, else: otherwise.nodes });
        continue;
      }
      if (/^(range|with|define|template|include|block)\b/.test(tok.e)) throw new Error(`unsupported template action: ${tok.e}`);
      nodes.push(tok);
    }
    return { nodes, stop: 'eof' };
  };
  const { nodes, stop } = block();
  if (stop !== 'eof') throw new Error(`unexpected {{ ${stop} }}`);
  return nodes;
}

function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

function toText(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

const FUNCS: Record<string, (...args: unknown[]) => unknown> = {
  toYaml: (v) => (v === undefined || v === null ? '' : yaml.dump(v, { lineWidth: -1 }).replace(/\n$/, '')),
  nindent: (n, s) => `\n${FUNCS.indent?.(n, s) as string}`,
  indent: (n, s) => toText(s).split('\n').map((l) => ' '.repeat(Number(n)) + l).join('\n'),
  quote: (v) => JSON.stringify(toText(v)),
  default: (d, v) => (truthy(v) ? v : d),
  not: (v) => !truthy(v),
};

function splitPipeline(expr: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of expr) {
    if (ch === '"') quoted = !quoted;
    if (ch === '|' && !quoted) {
      parts.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  parts.push(cur.trim());
  return parts;
}

export function evaluate(expr: string, ctx: Record<string, unknown>): unknown {
  let value: unknown;
  splitPipeline(expr).forEach((command, index) => {
    const words = command.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
    const args = words.slice(1).map((w) => atom(w, ctx));
    if (index > 0) args.push(value);
    const head = words[0] ?? '';
    if (FUNCS[head]) value = FUNCS[head]?.(...args);
    else if (words.length === 1 && index === 0) value = atom(head, ctx);
    else throw new Error(`unsupported template function in {{ ${expr} }}`);
  });
  return value;
}

function atom(word: string, ctx: Record<string, unknown>): unknown {
  if (word.startsWith('"')) return JSON.parse(word);
  if (/^-?\d+$/.test(word)) return Number(word);
  if (word === 'true' || word === 'false') return word === 'true';
  if (!word.startsWith('.')) throw new Error(`unsupported template word ${word}`);
  let v: unknown = ctx;
  for (const key of word.slice(1).split('.')) v = v === undefined || v === null ? undefined : (v as Record<string, unknown>)[key];
  return v;
}

function render(nodes: Node[], ctx: Record<string, unknown>): string {
  let out = '';
  for (const n of nodes) {
    if (n.t === 'text') out += n.s;
    else if (n.t === 'expr') out += toText(evaluate(n.e, ctx));
    else out += render(truthy(evaluate(n.cond, ctx)) ? n.then : n.else, ctx);
  }
  return out;
}

export function renderTemplate(src: string, ctx: Record<string, unknown>): string {
  return render(parse(tokenize(src)), ctx);
}

function merge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (base && over && typeof base === 'object' && typeof over === 'object' && !Array.isArray(base) && !Array.isArray(over)) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over as Record<string, unknown>)) out[k] = merge(out[k], v);
    return out;
  }
  return over;
}

export function loadValues(chartDir: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return merge(yaml.load(readFileSync(path.join(chartDir, 'values.yaml'), 'utf8')), overrides) as Record<string, unknown>;
}

/** Renders crds/ (verbatim, as Helm installs them) and templates/ with the given values. */
export function renderChart(chartDir: string, options: RenderOptions = {}): RenderedChart {
  const chart = yaml.load(readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8')) as Record<string, string>;
  const ctx = {
    Values: loadValues(chartDir, options.values),
    Release: { Name: options.releaseName ?? 's3files', Namespace: options.namespace ?? 's3files' },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
  };
  const files = new Map<string, Record<string, unknown>[]>();
  for (const sub of ['crds', 'templates']) {
    for (const file of readdirSync(path.join(chartDir, sub)).filter((f) => f.endsWith('.yaml')).sort()) {
      const src = readFileSync(path.join(chartDir, sub, file), 'utf8');
      const text = sub === 'crds' ? src : renderTemplate(src, ctx);
      const docs = yaml.loadAll(text).filter((d): d is Record<string, unknown> => d !== null && typeof d === 'object');
      files.set(`${sub}/${file}`, docs);
    }
  }
  return { files, objects: [...files.values()].flat() };
}

/** Writes the default rendering as a kustomize base: one file per template, plus a Namespace. */
export function writeManifests(chartDir: string, outDir: string, namespace = 's3files'): void {
  const { files } = renderChart(chartDir, { namespace });
  mkdirSync(outDir, { recursive: true });
  const header = '# Generated from charts/s3files with its default values by `npm run gen:manifests`; do not edit.\n';
  const resources = ['namespace.yaml'];
  writeFileSync(path.join(outDir, 'namespace.yaml'), header + yaml.dump({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { 'app.kubernetes.io/name': 's3files' } } }));
  for (const [file, docs] of files) {
    if (docs.length === 0) continue;
    const name = file.replace(/^(crds|templates)\//, '');
    resources.push(name);
    writeFileSync(path.join(outDir, name), header + docs.map((d) => yaml.dump(d, { lineWidth: -1 })).join('---\n'));
  }
  writeFileSync(path.join(outDir, 'kustomization.yaml'), header + yaml.dump({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources }));
}

if (require.main === module) {
  const [chartDir = 'charts/s3files', outDir = 'manifests'] = process.argv.slice(2);
  writeManifests(chartDir, outDir);
  process.stdout.write(`wrote ${outDir}/ from ${chartDir}\n`);
}
