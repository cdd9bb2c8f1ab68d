import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  decimalOf,
  mayHoldInexactNumber,
  NonFinite,
  parseExact,
  sameNumber,
  withinTolerance,
} from '../../src/diff/exact-json.js';

const d = (text: string) => decimalOf(parseExact(text))!;

describe('exact JSON numbers', () => {
  it('keeps numbers a double cannot hold as written, and others as plain numbers', () => {
    const value = parseExact('{"a":9007199254740993,"b":1e400,"c":2.50,"d":12,"e":0.1}') as Record<string, unknown>;
    expect(JSON.stringify(value)).toBe('{"a":9007199254740993,"b":1e400,"c":2.50,"d":12,"e":0.1}');
    expect(typeof value.d).toBe('number');
    expect(typeof value.e).toBe('number');
  });

  it('keeps every number as written, whichever parse it takes', () => {
    const digits = (min: number, max: number) =>
      fc.array(fc.constantFrom(...'0123456789'), { minLength: min, maxLength: max }).map((d) => d.join(''));
    const whole = fc.oneof(
      fc.constant('0'),
      fc.tuple(fc.constantFrom(...'123456789'), digits(0, 24)).map(([a, b]) => a + b),
    );
    const number = fc
      .tuple(
        fc.constantFrom('', '-'),
        whole,
        fc.option(digits(1, 20), { nil: undefined }),
        fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(1, 3)), { nil: undefined }),
      )
      .map(
        ([sign, w, fraction, exponent]) =>
          `${sign}${w}${fraction ? `.${fraction}` : ''}${exponent ? exponent.join('') : ''}`,
      );
    fc.assert(
      fc.property(fc.array(number, { minLength: 1, maxLength: 8 }), (numbers) => {
        const text = `{"v":[${numbers.join(',')}],"s":"x"}`;
        expect(JSON.stringify(parseExact(text))).toBe(text);
      }),
      { numRuns: 2000 },
    );
    // Between JSON's own whitespace, as a member, in an array or alone: the fast parse never takes one it would round.
    const space = fc.constantFrom('', ' ', '\n', '\t', ' \r\n ');
    fc.assert(
      fc.property(number, space, space, (n, before, after) => {
        for (const text of [`{"a":${before}${n}${after},"b":1}`, `[${before}${n}${after}]`, `${before}${n}${after}`]) {
          const exact = JSON.parse(text, (_key, value, context?: { source?: string }) =>
            typeof value === 'number' && String(value) !== context?.source ? 'inexact' : value,
          );
          if (JSON.stringify(exact).includes('inexact')) expect(mayHoldInexactNumber(text)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('takes the fast parse for texts whose strings only look like such numbers', () => {
    // Every simulated order's id ends in "-0", and a tenth of its times in a 0 after the point.
    const order = '{"order_id":"o-12-0","event_time":"2026-12-03T19:12:58.820Z","amount":200.63,"items":[{"qty":1}]}';
    expect(mayHoldInexactNumber(order)).toBe(false);
    expect(parseExact(order)).toEqual(JSON.parse(order));
    for (const text of ['{"a":2.50}', '[1, -0 ]', '1e5', '{"a": 12345678.12345678}', '[0.0000001]', '{"s":"x,-0]"}']) {
      expect(mayHoldInexactNumber(text)).toBe(true);
    }
  });

  it('keeps a fraction ending in 0 as written wherever the number ends', () => {
    for (const text of [
      '2.50',
      ' 2.50 ',
      '[2.50]',
      '[2.50 ,1]',
      '{"a":2.50}',
      '{"a":2.50\n}',
      '{"a":\t2.50\t,"b":1}',
    ]) {
      expect(JSON.stringify(parseExact(text))).toBe(
        JSON.stringify(JSON.parse(text.replace('2.50', '"X"'))).replace('"X"', '2.50'),
      );
    }
  });

  it('parses a record whose only trailing zeros are in a timestamp without the reviver', () => {
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const value = parseExact('{"amount":865.47,"created_at":"2026-01-01T00:00:00.000Z","score":0.472}');
      expect(value).toEqual({ amount: 865.47, created_at: '2026-01-01T00:00:00.000Z', score: 0.472 });
      // The reviver costs three times the parse: a call and a source text per value.
      expect(parse.mock.calls.map((call) => call.length)).toEqual([1]);
    } finally {
      parse.mockRestore();
    }
  });

  it('compares by decimal value', () => {
    expect(sameNumber(parseExact('2.50'), parseExact('2.5'))).toBe(true);
    expect(sameNumber(parseExact('1e2'), parseExact('100'))).toBe(true);
    expect(sameNumber(parseExact('-0'), parseExact('0'))).toBe(true);
    expect(sameNumber(parseExact('9007199254740993'), parseExact('9007199254740992'))).toBe(false);
    expect(sameNumber(parseExact('1e400'), parseExact('2e400'))).toBe(false);
    expect(sameNumber(parseExact('1e10000000000000000000001'), parseExact('1e10000000000000000000000'))).toBe(false);
  });

  it('reads what DuckDB reads beyond JSON, and a string of the data never poses as a token', () => {
    const value = parseExact('{"a":NaN,"b":-inf,"c":[1,2,],"d":"NaN, inf,]"}') as Record<string, unknown>;
    expect(value.a).toEqual(new NonFinite('NaN'));
    expect(value.b).toEqual(new NonFinite('-Infinity'));
    expect(value.c).toEqual([1, 2]);
    expect(value.d).toBe('NaN, inf,]');
    expect(parseExact('{"a":') as string).toBe('{"a":');
  });

  it('applies tolerances exactly, and rounds only towards "different" past 200 digits', () => {
    expect(withinTolerance(d(`${2n ** 60n}`), d(`${2n ** 60n + 1n}`), 0.5, 0)).toBe(false);
    expect(withinTolerance(d(`${2n ** 60n}`), d(`${2n ** 60n + 1n}`), 1, 0)).toBe(true);
    expect(withinTolerance(d('10.01'), d('10'), 0.01, 0)).toBe(true);
    expect(withinTolerance(d('10.011'), d('10'), 0.01, 0)).toBe(false);
    expect(withinTolerance(d('100'), d('101'), 0, 0.01)).toBe(true);
    expect(withinTolerance(d('100'), d('101.0000000001'), 0, 0.01)).toBe(false);
    // Far apart in scale: decided at once, without a BigInt of a billion digits.
    expect(withinTolerance(d('1e1000000000'), d('1'), 0.01, 0)).toBe(false);
    expect(withinTolerance(d('1e-1000000000'), d('0'), 0.01, 0)).toBe(true);
    expect(withinTolerance(d('1e1000000000'), d('1.000001e1000000000'), 0, 1e-5)).toBe(true);
  });
});
