const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Twelve digits before the point are more than any real duration needs; unbounded, a count could parse as Infinity. */
const DURATION = /^(\d{1,12}(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Pattern accepted by config durations: `500ms`, `30s`, `1m`, `2h`, `7d`. */
export const DURATION_PATTERN = '^\\d{1,12}(\\.\\d+)?(ms|s|m|h|d)$';

/** Parses `30s`, `1m`, `7d` into milliseconds; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * (UNITS[match[2] as string] as number);
}

export function durationMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new TypeError(`not a duration: ${text}`);
  return ms;
}
