export type EpochUnit = 'ms' | 's' | 'us';

const TO_MS: Record<EpochUnit, number> = { ms: 1, s: 1000, us: 0.001 };

/**
 * Event time in ms since the epoch from an ISO-8601 string or an epoch number in `unit`;
 * undefined when the value is absent or unparseable (the record is then invalid).
 */
export function eventTimeMs(value: unknown, unit: EpochUnit = 'ms'): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.floor(value * TO_MS[unit]) : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const trimmed = value.trim();
    if (/^-?\d+(\.\d+)?$/.test(trimmed)) return Math.floor(Number(trimmed) * TO_MS[unit]);
    const parsed = Date.parse(trimmed);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}
