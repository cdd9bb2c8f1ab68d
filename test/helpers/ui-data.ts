import { tempDir } from './tmp.js';

/**
 * Files for three comparisons whose verdicts are known: `pass` (identical sides), `fail` (amount
 * differs on every 10th record, a nested city on every 40th, keys missing and extra, invalid
 * lines, and a trace_id that differs on every run, which a control side shows is noise) and
 * `wait` (too few records to decide).
 */
export const COUNT = 1200;
const START = Date.UTC(2026, 0, 1);

interface Record {
  id: number;
  t: string;
  amount: number;
  customer: { name: string; address: { city: string; zip: string } };
  trace_id?: string;
}

function record(i: number, run: string, changed: boolean): Record {
  return {
    id: i,
    t: new Date(START + i * 200).toISOString(),
    amount: changed && i % 10 === 0 ? i + 0.5 : i,
    customer: { name: `c-${i}`, address: { city: changed && i % 40 === 0 ? 'Lyon' : 'Paris', zip: '75001' } },
    trace_id: `${run}-${i}`,
  };
}

const lines = (records: object[], extra: string[] = []) =>
  `${[...records.map((r) => JSON.stringify(r)), ...extra].join('\n')}\n`;

export const INVALID_LINES = 3;
export const EXTRA_KEYS = 5;
export const MISSING_KEYS = COUNT / 100;

export function uiDataset() {
  const files = tempDir('shadowdiff-ui-');
  const ids = Array.from({ length: COUNT }, (_, i) => i);
  const pass = {
    live: files.write('pass-live.ndjson', lines(ids.map((i) => record(i, 'same', false)))),
    candidate: files.write('pass-candidate.ndjson', lines(ids.map((i) => record(i, 'same', false)))),
  };
  const candidate = ids.filter((i) => i % 100 !== 7).map((i) => record(i, 'candidate', true));
  for (let k = 0; k < EXTRA_KEYS; k++) candidate.push(record(COUNT + k, 'candidate', false));
  const fail = {
    live: files.write('fail-live.ndjson', lines(ids.map((i) => record(i, 'live', false)))),
    candidate: files.write(
      'fail-candidate.ndjson',
      lines(
        candidate,
        Array.from({ length: INVALID_LINES }, (_, k) => `{"id": ${k}, not json`),
      ),
    ),
    control: files.write('fail-control.ndjson', lines(ids.map((i) => record(i, 'control', false)))),
  };
  const few = ids.slice(0, 20);
  const wait = {
    live: files.write('wait-live.ndjson', lines(few.map((i) => record(i, 'same', false)))),
    candidate: files.write('wait-candidate.ndjson', lines(few.map((i) => record(i, 'same', false)))),
  };
  const comparison = (id: string, sides: { live: string; candidate: string; control?: string }, tolerance: number) => `
  - id: ${id}
    live: {file: {path: ${sides.live}}}
    candidate: {file: {path: ${sides.candidate}}}${sides.control ? `\n    control: {file: {path: ${sides.control}}}` : ''}
    key: [id]
    time: {field: t}
    window: {size: 1m, allowedLateness: 5s}
    verdict: {tolerance: ${tolerance}, minSamples: 100}`;
  const config = (port: number, tokens: { admin: string; read: string }) =>
    files.write(
      'shadowdiff.yaml',
      `server: {host: 127.0.0.1, port: ${port}, adminToken: ${tokens.admin}, readToken: ${tokens.read}}
storage: {path: ${files.dir}/ui.duckdb}
comparisons:${comparison('pass', pass, 0.05)}${comparison('fail', fail, 0.01)}${comparison('wait', wait, 0.05)}
`,
    );
  return { files, pass, fail, wait, config };
}
