import { describe, expect, it } from 'vitest';
import {
  canonicalPath,
  differingPaths,
  ExactNumber,
  nestAt,
  pairHighlights,
  parseJson,
  sideTree,
} from '../../../src/ui/view/json-tree.js';

describe('parseJson', () => {
  it('keeps the text of numbers a double would change, and plain numbers as numbers', () => {
    const value = parseJson('{"id": 12345678901234567890, "price": 1.50, "qty": 3}') as Record<string, unknown>;
    expect(value.id).toEqual(new ExactNumber('12345678901234567890'));
    expect(value.price).toEqual(new ExactNumber('1.50'));
    expect(value.qty).toBe(3);
  });
});

describe('nestAt', () => {
  it('places a field value at its canonical path', () => {
    expect(nestAt('customer.address.city', 'Lyon')).toEqual({ customer: { address: { city: 'Lyon' } } });
    expect(nestAt('items[].price', 2)).toEqual({ items: [{ price: 2 }] });
    expect(nestAt('', { a: 1 })).toEqual({ a: 1 });
  });
});

describe('differingPaths', () => {
  it('finds differing leaves, kinds and one-sided members by concrete path', () => {
    const live = { a: 1, b: { c: 'x', d: [1, 2] }, e: null, g: 'same' };
    const candidate = { a: 1, b: { c: 'y', d: [1, 3, 4] }, e: '0', f: true, g: 'same' };
    expect([...differingPaths(live, candidate)].sort()).toEqual(['b.c', 'b.d[1]', 'b.d[2]', 'e', 'f'].sort());
  });

  it('tells numbers apart by their exact text', () => {
    const live = parseJson('{"id": 12345678901234567890}');
    const candidate = parseJson('{"id": 12345678901234567891}');
    expect([...differingPaths(live, candidate)]).toEqual(['id']);
  });
});

describe('sideTree', () => {
  it('lays one side over both sides members, marking differences and the containers above them', () => {
    const live = { customer: { city: 'Paris', zip: '75001' } };
    const candidate = { customer: { city: 'Lyon' } };
    const differing = differingPaths(live, candidate);
    const right = sideTree(candidate, live, differing);
    expect(right.contains).toBe(true);
    const customer = right.children![0]!;
    expect(customer).toMatchObject({ label: 'customer', path: 'customer', differs: false, contains: true });
    expect(customer.children).toEqual([
      { label: 'city', path: 'customer.city', kind: 'string', text: '"Lyon"', differs: true, contains: false },
      { label: 'zip', path: 'customer.zip', kind: 'absent', differs: true, contains: false },
    ]);
  });
});

describe('pairHighlights', () => {
  it('marks the concrete paths inside the fields the engine found different, and no others', () => {
    const live = { a: 1, t: 1.0001, items: [{ sku: 'a' }, { sku: 'b' }], note: 'n', seen: 'x' };
    const candidate = { a: 2, t: 1.0002, items: [{ sku: 'a' }, { sku: 'c' }], seen: 'y' };
    // `t` within a tolerance and `seen` ignored: the engine does not list them.
    expect([...pairHighlights(live, candidate, ['a', 'items[].sku', 'note'])].sort()).toEqual([
      'a',
      'items[1].sku',
      'note',
    ]);
  });

  it('marks a value masked on both sides when a differing field lies at or below it', () => {
    const live = { card: '***', customer: { email: '***', name: '***' } };
    const candidate = { card: '***', customer: { email: '***', name: '***' } };
    expect([...pairHighlights(live, candidate, ['card.number', 'customer.email'])].sort()).toEqual([
      'card',
      'customer.email',
    ]);
  });

  it('names concrete paths by their field path', () => {
    expect(canonicalPath('items[12].tags[0]')).toBe('items[].tags[]');
  });
});
