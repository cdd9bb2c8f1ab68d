import { tempDir } from './tmp.js';

/**
 * Records whose differing paths are known for every key, for the record-pair view: `amount` on
 * every 10th, the second item's `sku` on every 15th, the redacted `customer.email` on every 20th,
 * `note` left out on every 30th; `customer.name` is redacted and never differs. Keys `i % 100 === 7`
 * are missing from the candidate, which has EXTRA keys of its own and one line that is not JSON.
 */
export const PAIR_COUNT = 600;
export const EXTRA = 3;
const START = Date.UTC(2026, 0, 1);
export const REDACT = ['customer.name', 'customer.email'];

export interface PairRecord {
  id: number;
  t: string;
  amount: number;
  items: { sku: string; qty: number }[];
  customer: { name: string; email: string };
  note?: string;
}

export function pairRecord(i: number, side: 'live' | 'candidate'): PairRecord {
  const changed = side === 'candidate';
  return {
    id: i,
    t: new Date(START + i * 200).toISOString(),
    amount: changed && i % 10 === 0 ? i + 0.5 : i,
    items: [
      { sku: 'a', qty: 1 },
      { sku: changed && i % 15 === 0 ? 'z' : 'b', qty: 2 },
    ],
    customer: { name: `name-${i}`, email: changed && i % 20 === 0 ? `cand-${i}@y` : `live-${i}@x` },
    ...(changed && i % 30 === 0 ? {} : { note: 'n' }),
  };
}

/** The concrete paths in which the records of key `i` differ: the truth the view must mark. */
export function differingPathsOf(i: number): string[] {
  return [
    ...(i % 10 === 0 ? ['amount'] : []),
    ...(i % 15 === 0 ? ['items[1].sku'] : []),
    ...(i % 20 === 0 ? ['customer.email'] : []),
    ...(i % 30 === 0 ? ['note'] : []),
  ].sort();
}

/** Every node path of a record's tree, as the view names them (`''` is the root). */
export function treePaths(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return [path, ...value.flatMap((item, i) => treePaths(item, `${path}[${i}]`))];
  if (value !== null && typeof value === 'object') {
    return [
      path,
      ...Object.entries(value).flatMap(([name, v]) => treePaths(v, path === '' ? name : `${path}.${name}`)),
    ];
  }
  return [path];
}

/** The window start (1 minute windows) of key `i`'s event time. */
export const windowOf = (i: number) => Math.floor((START + i * 200) / 60_000) * 60_000;

export function pairDataset() {
  const files = tempDir('shadowdiff-pair-');
  const ids = Array.from({ length: PAIR_COUNT }, (_, i) => i);
  const lines = (records: object[], extra: string[] = []) =>
    `${[...records.map((r) => JSON.stringify(r)), ...extra].join('\n')}\n`;
  const live = files.write('live.ndjson', lines(ids.map((i) => pairRecord(i, 'live'))));
  const candidateRecords = ids.filter((i) => i % 100 !== 7).map((i) => pairRecord(i, 'candidate'));
  for (let k = 0; k < EXTRA; k++) candidateRecords.push(pairRecord(PAIR_COUNT + k, 'candidate'));
  const candidate = files.write('candidate.ndjson', lines(candidateRecords, ['{"id": 1, not json']));
  const comparison = `
  - id: pairs
    live: {file: {path: ${live}}}
    candidate: {file: {path: ${candidate}}}
    key: [id]
    time: {field: t}
    window: {size: 1m, allowedLateness: 5s}
    redact: [${REDACT.join(', ')}]
    verdict: {tolerance: 0.01, minSamples: 100}`;
  return {
    files,
    live,
    candidate,
    serveConfig: (port: number) =>
      files.write(
        'serve.yaml',
        `server: {host: 127.0.0.1, port: ${port}}\nstorage: {path: ${files.dir}/pairs.duckdb}\ncomparisons:${comparison}\n`,
      ),
    batchConfig: () => files.write('batch.yaml', `comparisons:${comparison}\n`),
  };
}
