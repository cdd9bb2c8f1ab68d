import { mulberry32 } from './tmp.js';

/**
 * A generated pair of NDJSON datasets with known ground truth: differences the compare rules must
 * absorb, real differences of each kind, missing and extra keys, duplicates, malformed lines and
 * unicode. `expected` is what a correct diff reports.
 */
export interface GroundTruth {
  live: string;
  candidate: string;
  expected: {
    live: number;
    candidate: number;
    equal: number;
    different: number;
    missing: number;
    extra: number;
    duplicateLive: number;
    duplicateCandidate: number;
    invalidLive: number;
    invalidCandidate: number;
    fields: Record<string, { different: number; value: number; type: number; missing: number; extra: number }>;
  };
}

export const GROUND_TRUTH_RULES = {
  ignore: ['processed_at', 'meta.*'],
  numeric: { abs: 0, rel: 0, fields: { amount: { abs: 0.01 } } },
  unorderedArrays: ['tags'],
  nullEqualsMissing: true,
  timestamps: { paths: ['created_at'], toleranceMs: 0 },
};

type Rec = Record<string, unknown>;

function shuffledKeys(record: Rec, rand: () => number): Rec {
  const entries = Object.entries(record);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  return Object.fromEntries(entries);
}

export function generateGroundTruth(size = 3000, seed = 7): GroundTruth {
  const rand = mulberry32(seed);
  const live: string[] = [];
  const candidate: string[] = [];
  const fields: GroundTruth['expected']['fields'] = {};
  const bump = (path: string, kind: 'value' | 'type' | 'missing' | 'extra') => {
    fields[path] ??= { different: 0, value: 0, type: 0, missing: 0, extra: 0 };
    const entry = fields[path];
    entry.different++;
    entry[kind]++;
  };
  let equal = 0;
  let different = 0;
  for (let i = 0; i < size; i++) {
    const base: Rec = {
      order_id: `o-${i}`,
      customer: {
        id: 1000 + (i % 97),
        tier: ['gold', 'silver', 'bronze'][i % 3],
        name: i % 10 === 0 ? 'Zoë Ångström 東京' : `c${i}`,
      },
      amount: Math.round(rand() * 100000) / 100,
      status: ['paid', 'pending', 'shipped'][i % 3],
      items: [
        { sku: `s-${i % 50}`, qty: 1 + (i % 4), price: 9.99 },
        { sku: `t-${i % 7}`, qty: 2, price: 1.5 },
      ],
      tags: ['web', 'promo', `t${i % 5}`],
      created_at: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
      processed_at: new Date(Date.UTC(2026, 0, 2) + i).toISOString(),
      meta: { host: 'a', run: 1 },
      discount: i % 4 === 0 ? null : 0,
    };
    const cand: Rec = structuredClone(base);
    cand.processed_at = new Date(Date.UTC(2026, 0, 3) + i).toISOString();
    (cand.meta as Rec).host = 'b';
    let liveText = JSON.stringify(base);
    let candText: string | undefined;
    switch (i % 20) {
      case 0: // absorbed: key order, tags permuted, amount within abs 0.01, same instant in another format
        cand.tags = [...(base.tags as string[])].reverse();
        cand.amount = (base.amount as number) + 0.004;
        cand.created_at = (base.created_at as string).replace('.000Z', '+00:00');
        candText = JSON.stringify(shuffledKeys(cand, rand));
        equal++;
        break;
      case 1: // absorbed: 12 vs 12.0, null vs missing
        base.amount = 12;
        base.discount = null;
        liveText = JSON.stringify(base);
        delete cand.discount;
        cand.amount = 12;
        candText = JSON.stringify(cand).replace('"amount":12,', '"amount":12.0,');
        equal++;
        break;
      case 2: // real: amount beyond tolerance
        cand.amount = (base.amount as number) + 5;
        bump('amount', 'value');
        different++;
        break;
      case 3: // real: type change of a nested member
        (cand.customer as Rec).id = String((base.customer as Rec).id);
        bump('customer.id', 'type');
        different++;
        break;
      case 4: // real: a field the candidate lost, and one it added
        delete cand.status;
        cand.coupon = 'NEW';
        bump('status', 'missing');
        bump('coupon', 'extra');
        different++;
        break;
      case 5: // real: an array element value
        (cand.items as Rec[])[1]!.price = 2.5;
        bump('items[].price', 'value');
        different++;
        break;
      case 6: // real: unicode value changed
        (base.customer as Rec).name = 'Zoë Ångström 東京';
        liveText = JSON.stringify(base);
        (cand.customer as Rec).name = 'Zoe Angstrom';
        bump('customer.name', 'value');
        different++;
        break;
      default:
        equal++;
    }
    live.push(liveText);
    candidate.push(candText ?? JSON.stringify(cand));
  }
  // Keys only live has (the candidate lost them) and only the candidate has.
  for (let i = 0; i < 25; i++) live.push(JSON.stringify({ order_id: `lost-${i}`, amount: 1 }));
  for (let i = 0; i < 15; i++) candidate.push(JSON.stringify({ order_id: `new-${i}`, amount: 1 }));
  // Duplicates on the candidate: the first copy differs, the last is equal, so `last` keeps it equal.
  for (let i = 100; i < 110; i++) {
    const index = candidate.findIndex((line) => line.includes(`"order_id":"o-${i}"`));
    const copy = JSON.parse(live[i]!) as Rec;
    copy.amount = -1;
    candidate.splice(index, 0, JSON.stringify(copy));
  }
  // Malformed lines and records without a key, and blank lines (not records at all).
  live.push('{"order_id": "broken", "amount": ', 'not json at all', '', '   ', JSON.stringify({ amount: 3 }));
  candidate.push('[1,2,3]', '{"order_id": null}', '{"order_id":"x","a":1} trailing', '');

  return {
    live: `${live.join('\n')}\n`,
    candidate: `${candidate.join('\r\n')}\r\n`,
    expected: {
      live: size + 25,
      candidate: size + 15 + 10,
      equal,
      different,
      missing: 25,
      extra: 15,
      duplicateLive: 0,
      duplicateCandidate: 10,
      invalidLive: 3,
      invalidCandidate: 3,
      fields,
    },
  };
}
