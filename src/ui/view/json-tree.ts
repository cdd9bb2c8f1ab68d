/**
 * Two JSON values side by side as trees, with the paths where they differ marked. Record values
 * are shown, never interpreted: every text ends up in `textContent`, and numbers keep the exact
 * text they were sent with (a 20-digit id must not show as its rounded double).
 */

/** A JSON number whose text a double does not reproduce (`12345678901234567890`, `1.50`). */
export class ExactNumber {
  constructor(readonly text: string) {}
}

type Reviver = (key: string, value: unknown, context?: { source?: string }) => unknown;

/** JSON.parse that keeps a number's source text where the double would change it (where the engine tells it). */
export function parseJson(text: string): unknown {
  const reviver: Reviver = (_key, value, context) =>
    typeof value === 'number' && context?.source !== undefined && String(value) !== context.source
      ? new ExactNumber(context.source)
      : value;
  return JSON.parse(text, reviver as (key: string, value: unknown) => unknown);
}

export type NodeKind = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null' | 'absent';

export interface TreeNode {
  /** Member name, `[i]` for an element, '' at the root. */
  label: string;
  /** Concrete path, `items[0].price`. */
  path: string;
  kind: NodeKind;
  /** A leaf's JSON text. */
  text?: string;
  children?: TreeNode[];
  /** This value differs from the other side's. */
  differs: boolean;
  /** Something below differs. */
  contains: boolean;
}

function kindOf(value: unknown): NodeKind {
  if (value === undefined) return 'absent';
  if (value === null) return 'null';
  if (value instanceof ExactNumber || typeof value === 'number') return 'number';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return 'object';
  return typeof value === 'boolean' ? 'boolean' : 'string';
}

function leafText(value: unknown): string {
  if (value instanceof ExactNumber) return value.text;
  return JSON.stringify(value) ?? '';
}

const member = (path: string, name: string) => (path === '' ? name : `${path}.${name}`);
const element = (path: string, index: number) => `${path}[${index}]`;

/** The entries of two containers side by side: members of either, in first-seen order. */
function entries(a: unknown, b: unknown): [label: string, childPath: (p: string) => string, x: unknown, y: unknown][] {
  if (Array.isArray(a) || Array.isArray(b)) {
    const left = Array.isArray(a) ? a : [];
    const right = Array.isArray(b) ? b : [];
    return Array.from({ length: Math.max(left.length, right.length) }, (_, i) => [
      `[${i}]`,
      (p: string) => element(p, i),
      left[i],
      right[i],
    ]);
  }
  const left = (a ?? {}) as Record<string, unknown>;
  const right = (b ?? {}) as Record<string, unknown>;
  const names = [...new Set([...Object.keys(left), ...Object.keys(right)])];
  return names.map((name) => [name, (p: string) => member(p, name), left[name], right[name]]);
}

const isContainer = (kind: NodeKind) => kind === 'object' || kind === 'array';

/** Concrete paths where the two values differ: a leaf's text, a kind, or a member present on one side only. */
export function differingPaths(a: unknown, b: unknown, path = ''): Set<string> {
  const found = new Set<string>();
  const walk = (x: unknown, y: unknown, at: string) => {
    const kx = kindOf(x);
    const ky = kindOf(y);
    if (kx !== ky) {
      found.add(at);
      return;
    }
    if (!isContainer(kx)) {
      if (leafText(x) !== leafText(y)) found.add(at);
      return;
    }
    for (const [, childPath, cx, cy] of entries(x, y)) walk(cx, cy, childPath(at));
  };
  walk(a, b, path);
  return found;
}

/**
 * One side's tree, laid out over the members of both sides (absent ones included) so the two
 * trees line up row by row.
 */
export function sideTree(
  value: unknown,
  other: unknown,
  differing: ReadonlySet<string>,
  label = '',
  path = '',
): TreeNode {
  const kind = kindOf(value);
  const differs = differing.has(path);
  if (!isContainer(kind)) {
    return { label, path, kind, ...(kind === 'absent' ? {} : { text: leafText(value) }), differs, contains: false };
  }
  const sameShape = kindOf(other) === kind ? other : undefined;
  const children = entries(value, sameShape)
    .filter(([, , mine, theirs]) => mine !== undefined || theirs !== undefined)
    .map(([name, childPath, mine, theirs]) => sideTree(mine, theirs, differing, name, childPath(path)));
  return { label, path, kind, children, differs, contains: children.some((c) => c.differs || c.contains) };
}

/**
 * A field's value placed at its canonical path (`items[].price` → `{items: [{price: v}]}`), so a
 * sample of one field reads as the part of the record it came from.
 */
export function nestAt(fieldPath: string, value: unknown): unknown {
  if (fieldPath === '') return value;
  return fieldPath
    .split('.')
    .reverse()
    .reduce<unknown>((inner, segment) => {
      let name = segment;
      let nested = inner;
      while (name.endsWith('[]')) {
        name = name.slice(0, -2);
        nested = [nested];
      }
      return name === '' ? nested : { [name]: nested };
    }, value);
}

/** What the service's redaction puts in place of a hidden value (diff/redact.ts). */
const MASK = '***';

/** `items[2].price` → `items[].price`: the engine's field path of a concrete one. */
export function canonicalPath(path: string): string {
  return path.replace(/\[\d+\]/g, '[]');
}

/** The field path itself or a path below it. */
const within = (path: string, field: string) =>
  path === field || path.startsWith(`${field}.`) || path.startsWith(`${field}[`);

/**
 * The concrete paths to mark in a whole record pair, given the field paths the engine found
 * different (`fields`, which the comparison's rules decide): a value that differs here counts
 * only inside such a field, so a difference within a tolerance or in an ignored field stays
 * unmarked. A value masked on both sides (`***`) is marked when a differing field lies at or
 * below it: the mark tells it differs without telling the value.
 */
export function pairHighlights(live: unknown, candidate: unknown, fields: readonly string[]): Set<string> {
  const inField = (path: string) => fields.some((field) => within(canonicalPath(path), field));
  const marked = new Set([...differingPaths(live, candidate)].filter(inField));
  const walk = (x: unknown, y: unknown, at: string) => {
    if (x === MASK && y === MASK) {
      if (fields.some((field) => within(field, canonicalPath(at)))) marked.add(at);
      return;
    }
    if (!isContainer(kindOf(x)) || kindOf(x) !== kindOf(y)) return;
    for (const [, childPath, cx, cy] of entries(x, y)) walk(cx, cy, childPath(at));
  };
  walk(live, candidate, '');
  return marked;
}
