import { setTimeout as sleep } from 'node:timers/promises';
import type { Side, SimulateSourceConfig } from '../config/schema.js';
import { LocalSource } from './local-source.js';
import type { DurablePositions, RawRecord, RecordHandler } from './source.js';

const PARTITION = 'simulate';
const TICK_MS = 100;

/** A fraction in [0, 1) from an integer, the same on every side and run (splitmix-style mixing). */
function unitHash(i: number, salt: number): number {
  let x = (Math.imul(i, 0x9e3779b1) ^ Math.imul(salt, 0x85ebca6b)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return ((x ^ (x >>> 16)) >>> 0) / 4294967296;
}

const TIERS = ['gold', 'silver', 'bronze'];
const STATUSES = ['paid', 'pending', 'shipped', 'refunded'];

/**
 * Record `i` of a simulated order stream. Live, candidate and control derive the same record from
 * `i`; the candidate changes `amount` on a `differenceRate` share of records and loses a `missingRate`
 * share; `noisyFields` get a fresh value on every side, as nondeterministic pipelines do.
 */
export function simulatedRecord(
  i: number,
  eventTimeMs: number,
  side: Side,
  config: SimulateSourceConfig,
): Record<string, unknown> | undefined {
  if (side === 'candidate' && unitHash(i, config.seed + 2) < config.missingRate) return undefined;
  const record: Record<string, unknown> = {
    order_id: `o-${i % config.keySpace}-${Math.floor(i / config.keySpace)}`,
    event_time: new Date(eventTimeMs).toISOString(),
    customer: { id: Math.floor(unitHash(i, config.seed) * 100_000), tier: TIERS[i % TIERS.length] },
    amount: Math.round(unitHash(i, config.seed + 1) * 100_000) / 100,
    currency: 'EUR',
    status: STATUSES[i % STATUSES.length],
    items: [
      { sku: `sku-${i % 500}`, qty: 1 + (i % 3), price: Math.round(unitHash(i, config.seed + 3) * 10_000) / 100 },
    ],
  };
  if (side === 'candidate' && unitHash(i, config.seed + 4) < config.differenceRate) {
    record.amount = (record.amount as number) + 1;
  }
  for (const field of config.noisyFields) record[field] = `${side}-${Math.random().toString(36).slice(2, 10)}`;
  return record;
}

/** Noisy fields the text of a record can take as they are: a plain name, none of the record's own, none twice. */
function plainNoisyFields(fields: readonly string[]): boolean {
  const own = ['order_id', 'event_time', 'customer', 'amount', 'currency', 'status', 'items', '__proto__'];
  return (
    new Set(fields).size === fields.length &&
    fields.every((field) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(field) && !own.includes(field))
  );
}

/**
 * `JSON.stringify(simulatedRecord(…))`, written out: the simulator makes every record of the
 * shipped default, and an object built only to be stringified cost twice as much. Noisy fields
 * that would change the object's member order (one of its own, a number) take the object's way.
 */
export function simulatedText(
  i: number,
  eventTimeMs: number,
  side: Side,
  config: SimulateSourceConfig,
): string | undefined {
  if (!plainNoisyFields(config.noisyFields)) {
    const record = simulatedRecord(i, eventTimeMs, side, config);
    return record && JSON.stringify(record);
  }
  if (side === 'candidate' && unitHash(i, config.seed + 2) < config.missingRate) return undefined;
  let amount = Math.round(unitHash(i, config.seed + 1) * 100_000) / 100;
  if (side === 'candidate' && unitHash(i, config.seed + 4) < config.differenceRate) amount += 1;
  const customer = Math.floor(unitHash(i, config.seed) * 100_000);
  const price = Math.round(unitHash(i, config.seed + 3) * 10_000) / 100;
  let text =
    `{"order_id":"o-${i % config.keySpace}-${Math.floor(i / config.keySpace)}",` +
    `"event_time":"${new Date(eventTimeMs).toISOString()}","customer":{"id":${customer},"tier":"${TIERS[i % TIERS.length]}"},` +
    `"amount":${amount},"currency":"EUR","status":"${STATUSES[i % STATUSES.length]}",` +
    `"items":[{"sku":"sku-${i % 500}","qty":${1 + (i % 3)},"price":${price}}]`;
  for (const field of config.noisyFields) text += `,"${field}":"${side}-${Math.random().toString(36).slice(2, 10)}"`;
  return `${text}}`;
}

/**
 * The embedded default source: an endless order stream at `ratePerSecond`, with event times on a
 * schedule shared by every side (record i happens at anchor + i/rate), so the sides align.
 */
export class SimulateSource extends LocalSource {
  readonly #config: SimulateSourceConfig;
  readonly #side: Side;
  readonly #anchorMs: number;

  constructor(config: SimulateSourceConfig, side: Side, anchorMs: number) {
    super();
    this.#config = config;
    this.#side = side;
    this.#anchorMs = anchorMs;
  }

  eventTime(i: number): number {
    return this.#anchorMs + Math.floor((i * 1000) / this.#config.ratePerSecond);
  }

  async start(handler: RecordHandler, durable: DurablePositions): Promise<void> {
    this.running = true;
    let next = (durable.get(PARTITION) ?? -1) + 1;
    this.loop = (async () => {
      while (this.running) {
        // Emit what the schedule says is due by now: the stream keeps pace with the wall clock.
        const due = Math.min(
          next + this.#config.ratePerSecond,
          Math.floor(((Date.now() - this.#anchorMs) * this.#config.ratePerSecond) / 1000),
        );
        if (this.paused || due <= next) {
          await sleep(TICK_MS);
          continue;
        }
        const records: RawRecord[] = [];
        for (let i = next; i < due; i++) {
          const timestamp = this.eventTime(i);
          const value = simulatedText(i, timestamp, this.#side, this.#config);
          if (value !== undefined) records.push({ partition: PARTITION, offset: i, key: null, value, timestamp });
        }
        next = due;
        if (records.length > 0) await handler(records, { heartbeat: async () => {} });
      }
    })();
  }

  hasEnded(): boolean {
    return false;
  }

  partitions(): string[] {
    return [PARTITION];
  }
}
