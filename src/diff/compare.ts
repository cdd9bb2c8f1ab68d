import { eventTimeMs } from '../align/time.js';
import {
  type Decimal,
  decimalOf,
  decimalText,
  isNumberLeaf,
  isRawNumber,
  NonFinite,
  sameNumber,
  withinTolerance,
} from './exact-json.js';
import { childPath, elementPath } from './paths.js';
import type { CompareRules } from './rules.js';

export type DifferenceKind = 'value' | 'type' | 'missing' | 'extra';

export interface FieldDifference {
  path: string;
  kind: DifferenceKind;
  live: unknown;
  candidate: unknown;
}

type JsonKind = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object';

function jsonKind(value: unknown): JsonKind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (isNumberLeaf(value)) return 'number';
  return typeof value as JsonKind;
}

function isComposite(value: unknown): boolean {
  const kind = jsonKind(value);
  return kind === 'array' || kind === 'object';
}

function isAbsent(value: unknown, rules: CompareRules): boolean {
  return value === undefined || (value === null && rules.nullEqualsMissing);
}

/**
 * Canonical text of a value for multiset comparison of unordered arrays: object members sorted,
 * ignored paths dropped, nulls dropped when null equals missing.
 */
function canonicalText(value: unknown, path: string, rules: CompareRules): string {
  if (Array.isArray(value)) {
    // Ignored elements leave the array's presence, as in compareOrdered.
    if (rules.isIgnored(elementPath(path))) return '[]';
    const items = value.map((item) => canonicalText(item, elementPath(path), rules));
    if (rules.isUnordered(path)) items.sort();
    return `[${items.join(',')}]`;
  }
  if (value instanceof NonFinite) return value.token;
  if (jsonKind(value) === 'number') return decimalText(decimalOf(value) as Decimal);
  if (value !== null && typeof value === 'object') {
    const members = Object.keys(value)
      .sort()
      .filter((name) => {
        const member = (value as Record<string, unknown>)[name];
        return !rules.isIgnored(childPath(path, name)) && !isAbsent(member, rules);
      })
      .map(
        (name) =>
          `${JSON.stringify(name)}:${canonicalText((value as Record<string, unknown>)[name], childPath(path, name), rules)}`,
      );
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

class RecordComparer {
  readonly differences: FieldDifference[] = [];
  constructor(private readonly rules: CompareRules) {}

  private report(path: string, kind: DifferenceKind, live: unknown, candidate: unknown): void {
    this.differences.push({ path, kind, live, candidate });
  }

  compare(live: unknown, candidate: unknown, path: string): void {
    const rules = this.rules;
    if (path !== '' && rules.isIgnored(path)) return;
    const liveAbsent = isAbsent(live, rules);
    const candidateAbsent = isAbsent(candidate, rules);
    if (liveAbsent || candidateAbsent) {
      if (!(liveAbsent && candidateAbsent)) this.report(path, liveAbsent ? 'extra' : 'missing', live, candidate);
      return;
    }
    // Tolerance applies to instants, which are scalars; arrays and objects compare structurally.
    if (rules.isTimestamp(path) && !isComposite(live) && !isComposite(candidate)) {
      this.compareInstants(live, candidate, path);
      return;
    }
    const liveKind = jsonKind(live);
    const candidateKind = jsonKind(candidate);
    if (liveKind !== candidateKind) {
      // With nullEqualsMissing off, null is a value like any other: null vs 5 is a changed value.
      const kind = liveKind === 'null' || candidateKind === 'null' ? 'value' : 'type';
      this.report(path, kind, live, candidate);
      return;
    }
    switch (liveKind) {
      case 'number':
        if (!this.numbersEqual(live, candidate, path)) this.report(path, 'value', live, candidate);
        return;
      case 'object':
        this.compareObjects(live as Record<string, unknown>, candidate as Record<string, unknown>, path);
        return;
      case 'array':
        if (rules.isUnordered(path)) this.compareUnordered(live as unknown[], candidate as unknown[], path);
        else this.compareOrdered(live as unknown[], candidate as unknown[], path);
        return;
      default:
        if (live !== candidate) this.report(path, 'value', live, candidate);
    }
  }

  /** By exact decimal value (`2.50` = `2.5`, `1e2` = `100`), never rounded through doubles. */
  private numbersEqual(live: unknown, candidate: unknown, path: string): boolean {
    if (live === candidate || sameNumber(live, candidate)) return true;
    const a = decimalOf(live);
    const b = decimalOf(candidate);
    if (a === undefined || b === undefined) return false;
    const { abs, rel } = this.rules.numericTolerance(path);
    return (abs !== 0 || rel !== 0) && withinTolerance(a, b, abs, rel);
  }

  private compareInstants(live: unknown, candidate: unknown, path: string): void {
    // Epochs are compared as instants in ms, where a double is exact enough.
    const liveMs = eventTimeMs(isRawNumber(live) ? Number(live.rawJSON) : live);
    const candidateMs = eventTimeMs(isRawNumber(candidate) ? Number(candidate.rawJSON) : candidate);
    if (liveMs === undefined || candidateMs === undefined) {
      if (jsonKind(live) !== jsonKind(candidate) && (liveMs === undefined) !== (candidateMs === undefined)) {
        this.report(path, 'type', live, candidate);
      } else if (live !== candidate && !(isNumberLeaf(live) && this.numbersEqual(live, candidate, path))) {
        this.report(path, 'value', live, candidate);
      }
      return;
    }
    if (Math.abs(liveMs - candidateMs) > this.rules.timestampToleranceMs) this.report(path, 'value', live, candidate);
  }

  private compareObjects(live: Record<string, unknown>, candidate: Record<string, unknown>, path: string): void {
    for (const name of Object.keys(live)) this.compare(live[name], candidate[name], childPath(path, name));
    for (const name of Object.keys(candidate)) {
      if (!Object.hasOwn(live, name)) this.compare(undefined, candidate[name], childPath(path, name));
    }
  }

  private compareOrdered(live: unknown[], candidate: unknown[], path: string): void {
    const element = elementPath(path);
    // An ignored element path ignores the elements' presence too: only the array's own is compared.
    if (this.rules.isIgnored(element)) return;
    const length = Math.max(live.length, candidate.length);
    for (let i = 0; i < length; i++) {
      if (i >= candidate.length) this.report(element, 'missing', live[i], undefined);
      else if (i >= live.length) this.report(element, 'extra', undefined, candidate[i]);
      else this.compare(live[i], candidate[i], element);
    }
  }

  /** Multiset comparison: exact matches cancel, what is left is compared in canonical order. */
  private compareUnordered(live: unknown[], candidate: unknown[], path: string): void {
    const element = elementPath(path);
    const keyed = (items: unknown[]) =>
      items
        .map((item) => ({ item, text: canonicalText(item, element, this.rules) }))
        .sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
    const remainingCandidates = new Map<string, number>();
    const candidateItems = keyed(candidate);
    for (const { text } of candidateItems) remainingCandidates.set(text, (remainingCandidates.get(text) ?? 0) + 1);
    const liveLeft: unknown[] = [];
    const matched = new Map<string, number>();
    for (const { item, text } of keyed(live)) {
      const available = remainingCandidates.get(text) ?? 0;
      if (available > 0) {
        remainingCandidates.set(text, available - 1);
        matched.set(text, (matched.get(text) ?? 0) + 1);
      } else {
        liveLeft.push(item);
      }
    }
    const candidateLeft: unknown[] = [];
    for (const { item, text } of candidateItems) {
      const used = matched.get(text) ?? 0;
      if (used > 0) matched.set(text, used - 1);
      else candidateLeft.push(item);
    }
    this.compareOrdered(liveLeft, candidateLeft, path);
  }
}

/** Field-level differences of two decoded records under the rules; empty when they are equal. */
export function compareRecords(live: unknown, candidate: unknown, rules: CompareRules): FieldDifference[] {
  const comparer = new RecordComparer(rules);
  comparer.compare(live, candidate, '');
  return comparer.differences;
}
