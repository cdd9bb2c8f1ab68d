// Generates the benchmark dataset: live and candidate NDJSON files of N records each,
// ~10 fields with a nested object and an array, with 1% of candidate rows changed.

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STATUSES = ['paid', 'pending', 'shipped', 'refunded'];
const TIERS = ['gold', 'silver', 'bronze'];

function record(i, rand) {
  const items = [];
  const n = 1 + Math.floor(rand() * 3);
  for (let k = 0; k < n; k++) {
    items.push({
      sku: `sku-${Math.floor(rand() * 5000)}`,
      qty: 1 + Math.floor(rand() * 4),
      price: Math.round(rand() * 10000) / 100,
    });
  }
  return {
    order_id: `o-${i}`,
    customer: { id: Math.floor(rand() * 100000), tier: TIERS[i % 3], country: 'DE' },
    amount: Math.round(rand() * 100000) / 100,
    currency: 'EUR',
    status: STATUSES[i % 4],
    items,
    tags: ['web', i % 2 ? 'promo' : 'regular'],
    created_at: new Date(1_767_225_600_000 + i * 1000).toISOString(),
    score: Math.round(rand() * 1000) / 1000,
    active: i % 5 !== 0,
  };
}

async function writeLines(path, lines) {
  const out = createWriteStream(path);
  for (const line of lines) {
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Writes `${dir}/live.ndjson` and `${dir}/candidate.ndjson`; returns how many rows differ. */
export async function generateDataset(dir, count, seed = 42) {
  const rand = mulberry32(seed);
  let changed = 0;
  function* sides(which) {
    const r = mulberry32(seed);
    let buf = '';
    for (let i = 0; i < count; i++) {
      const rec = record(i, r);
      if (which === 'candidate' && i % 100 === 7) {
        rec.amount = rec.amount + 1;
        changed++;
      }
      buf += `${JSON.stringify(rec)}\n`;
      if (buf.length > 1 << 20) {
        yield buf;
        buf = '';
      }
    }
    if (buf) yield buf;
  }
  rand();
  await writeLines(`${dir}/live.ndjson`, sides('live'));
  await writeLines(`${dir}/candidate.ndjson`, sides('candidate'));
  return { count, changed };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir = '/tmp/sd-bench', n = '1000000'] = process.argv.slice(2);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  console.log(await generateDataset(dir, Number(n)));
}
