import { describe, expect, it } from 'vitest';
import { escapedJson, invisibleDifference } from '../../src/cli/visible.js';

describe('differences that print the same', () => {
  it('says what differs when two values look alike on a terminal', () => {
    expect(invisibleDifference('café', 'cafe\u0301')).toBe('Unicode normalization (NFC vs NFD)');
    expect(invisibleDifference('a b', 'a\u00a0b')).toBe('non-breaking or other special spaces');
    expect(invisibleDifference('ab', 'a\u200bb')).toBe('zero-width characters');
    expect(invisibleDifference('a b', 'a\tb')).toBe('tabs');
    expect(invisibleDifference('ab', ' ab')).toBe('leading/trailing whitespace');
    expect(invisibleDifference({ n: ['x'] }, { n: ['x '] })).toBe('leading/trailing whitespace');
    expect(invisibleDifference('a\u200bb', 'ab\u200b')).toBe('whitespace or invisible characters');
  });

  it('leaves values that print differently, or are the same, alone', () => {
    expect(invisibleDifference('a', 'b')).toBeUndefined();
    expect(invisibleDifference('café', 'café')).toBeUndefined();
    expect(invisibleDifference(1, '1')).toBeUndefined();
    expect(invisibleDifference(undefined, 'x')).toBeUndefined();
  });

  it('escapes everything outside printable ASCII', () => {
    expect(escapedJson('café')).toBe('"caf\\u00e9"');
    expect(escapedJson('cafe\u0301')).toBe('"cafe\\u0301"');
    expect(escapedJson({ a: 'x\u200b😀' })).toBe('{"a":"x\\u200b\\u{1f600}"}');
    expect(escapedJson(undefined)).toBe('undefined');
  });
});
