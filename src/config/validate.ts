/** @module Validate a parsed YAML document against the schema; every problem is reported at once, each with
 *  its key path and file:line:col, unknown keys with a "did you mean". */
import type { ErrorObject } from 'ajv';
import { isMap, isScalar, LineCounter, type Document, type Node } from 'yaml';
import type { Config } from '../../config/schema.ts';
// The schema compiled ahead of time (config/gen-validator.ts): compiling it here cost 75–83 ms of every start.
import check from '../../config/schema.validator.js';

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

export interface Source { file: string; doc?: Document; lines?: LineCounter; envKeys?: Record<string, string> }

/** Validates `value` (mutated: defaults filled in). Throws ConfigError listing every problem. */
export function validateConfig(value: unknown, source: Source): Config {
  if (check(value)) return value;
  const problems = uniqueErrors(check.errors ?? []).map((e) => describe(e, value, source));
  throw new ConfigError([...new Set(problems)]);
}

// anyOf/union failures produce one error per branch; keep the most useful one per path.
function uniqueErrors(errors: ErrorObject[]): ErrorObject[] {
  const byPath = new Map<string, ErrorObject>();
  for (const e of errors) {
    const key = e.instancePath + (e.keyword === 'additionalProperties' ? `/${e.params.additionalProperty}` : '');
    if (!byPath.has(key) || e.keyword === 'additionalProperties' || e.keyword === 'anyOf') byPath.set(key, e);
  }
  return [...byPath.values()];
}

function describe(e: ErrorObject, root: unknown, src: Source): string {
  const segments = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let message: string;
  if (e.keyword === 'additionalProperties') {
    const key = String(e.params.additionalProperty);
    segments.push(key);
    const allowed = Object.keys((e.parentSchema as { properties?: object }).properties ?? {});
    const guess = closest(key, allowed);
    message = `unknown key${guess ? ` (did you mean "${guess}"?)` : ''}; allowed: ${allowed.join(', ')}`;
  } else if (e.keyword === 'required') {
    segments.push(String(e.params.missingProperty));
    message = 'required key is missing';
  } else {
    const got = valueAt(root, segments);
    const expected = e.keyword === 'type' ? `expected ${e.params.type}` : e.keyword === 'const'
      ? `expected ${JSON.stringify(e.params.allowedValue)}` : e.keyword === 'anyOf'
      ? `expected one of ${anyOfLiterals(e)}` : e.keyword === 'pattern'
      ? `${e.message}${describedAs(e)}` : e.message ?? e.keyword;
    message = `${expected}, got ${JSON.stringify(got)}`;
  }
  return `${where(segments, src, e.keyword === 'additionalProperties')} ${pathString(segments)}: ${message}`;
}

function describedAs(e: ErrorObject): string {
  const d = (e.parentSchema as { description?: string }).description;
  return d ? ` (${d})` : '';
}

function anyOfLiterals(e: ErrorObject): string {
  const branches = (e.parentSchema as { anyOf?: { const?: unknown }[] }).anyOf ?? [];
  return branches.map((b) => JSON.stringify(b.const)).join(' | ');
}

function pathString(segments: string[]): string {
  return segments.reduce((s, k) => (/^\d+$/.test(k) ? `${s}[${k}]` : s ? `${s}.${k}` : k), '') || '(top level)';
}

function valueAt(root: unknown, segments: string[]): unknown {
  let v: unknown = root;
  for (const s of segments) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[s] : undefined;
  return v;
}

function where(segments: string[], src: Source, atKey: boolean): string {
  const envVar = src.envKeys && Object.entries(src.envKeys).find(([, key]) => key === segments[0])?.[0];
  if (envVar) return `env ${envVar}`;
  if (!src.doc || !src.lines) return src.file;
  const node = nodeAt(src.doc, segments, atKey);
  const offset = node?.range?.[0];
  if (offset === undefined) return src.file;
  const { line, col } = src.lines.linePos(offset);
  return `${src.file}:${line}:${col}`;
}

// The deepest YAML node on the path: the value, or the key itself for an unknown key or a collection.
function nodeAt(doc: Document, segments: string[], atKey: boolean): Node | undefined {
  let node: unknown = doc.contents;
  for (const seg of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === seg);
      if (!pair) return node as Node;
      node = pair.value ?? pair.key;
      if (seg === segments[segments.length - 1] && (atKey || !isScalar(node))) return pair.key as Node;
    } else if (node && typeof node === 'object' && 'items' in node) {
      const item = (node as { items: unknown[] }).items[Number(seg)];
      if (!item) return node as Node;
      node = item;
    } else break;
  }
  return node as Node;
}

function closest(word: string, options: string[]): string | undefined {
  let best: string | undefined, bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const o of options) {
    const d = editDistance(word, o);
    if (d < bestDistance) { best = o; bestDistance = d; }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]++;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}
