import { describe, expect, it } from 'vitest';
import { formats } from '../../../src/ui/view/format.js';

describe('formats', () => {
  it("formats for the reader's locale and timezone", () => {
    // ICU spaces some formats with no-break spaces; compared as plain ones.
    const plain = (format: ReturnType<typeof formats>) =>
      Object.fromEntries(
        Object.entries(format).map(([name, fn]) => [name, (value: never) => fn(value).replace(/[\u00a0\u202f]/g, ' ')]),
      ) as unknown as ReturnType<typeof formats>;
    const us = plain(formats('en-US', 'UTC'));
    const de = plain(formats('de-DE', 'Europe/Berlin'));
    expect(us.count(1234567)).toBe('1,234,567');
    expect(de.count(1234567)).toBe('1.234.567');
    expect(us.percent(0.0031)).toBe('0.31%');
    expect(us.percent(0.000012)).toBe('0.0012%');
    expect(de.percent(0.5)).toBe('50,00 %');
    expect(us.time('2026-01-01T12:00:00Z')).toBe('Jan 1, 2026, 12:00:00 PM');
    expect(de.time('2026-01-01T12:00:00Z')).toBe('01.01.2026, 13:00:00');
    expect(us.time(null)).toBe('–');
    expect(us.seconds(2.25)).toBe('2.3 sec');
  });
});
