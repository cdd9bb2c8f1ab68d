/**
 * Numbers, rates and times for the reader's locale and timezone (Intl). The locale and zone are
 * parameters so tests can pin them; the browser passes none and gets the reader's own.
 */
export interface Formats {
  count(value: number): string;
  /** A rate as a percentage with at least two significant digits: 0.31 %, 0.0012 %. */
  percent(rate: number): string;
  /** An ISO-8601 instant as a date and time in the reader's timezone. */
  time(iso: string | null | undefined): string;
  seconds(value: number | null | undefined): string;
}

export function formats(locale?: string, timeZone?: string): Formats {
  const counts = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  const seconds = new Intl.NumberFormat(locale, { style: 'unit', unit: 'second', maximumFractionDigits: 1 });
  const times = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium', timeZone });
  const percents = new Map<number, Intl.NumberFormat>();
  const percentFormat = (decimals: number) => {
    let format = percents.get(decimals);
    if (format === undefined) {
      format = new Intl.NumberFormat(locale, {
        style: 'percent',
        minimumFractionDigits: decimals,
        maximumFractionDigits: decimals,
      });
      percents.set(decimals, format);
    }
    return format;
  };
  return {
    count: (value) => counts.format(value),
    percent(rate) {
      if (!Number.isFinite(rate)) return '–';
      const percent = rate * 100;
      const decimals = percent === 0 || percent >= 0.01 ? 2 : Math.min(20, 1 - Math.floor(Math.log10(percent)));
      return percentFormat(decimals).format(rate);
    },
    time(iso) {
      if (iso === null || iso === undefined) return '–';
      const date = new Date(iso);
      return Number.isNaN(date.getTime()) ? iso : times.format(date);
    },
    seconds: (value) =>
      value === null || value === undefined || !Number.isFinite(value) ? '–' : seconds.format(value),
  };
}
