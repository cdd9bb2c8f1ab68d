import type { BatchResult } from '../diff/batch.js';
import type { DiffSample } from '../diff/samples.js';
import { escapedJson, invisibleDifference } from './visible.js';

/** Bounds of the examples section: the report stays one screen or two however large the diff. */
const TOP_FIELDS = 5;
const EXAMPLES_PER_GROUP = 3;
const VALUE_CHARS = 80;

const percent = (value: number) => `${(value * 100).toFixed(value !== 0 && value < 0.001 ? 4 : 2)}%`;

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  '),
    )
    .join('\n');
}

/** The human-readable report of `shadowdiff diff` (without --json). */
export function formatReport(result: BatchResult, color: boolean): string {
  const paint = (code: number, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const { counts, verdict } = result;
  const verdictColor = verdict.verdict === 'PASS' ? 32 : verdict.verdict === 'FAIL' ? 31 : 33;
  const lines: string[] = [];
  lines.push(
    `${paint(1, 'shadowdiff')} ${result.comparison}: ${paint(verdictColor, verdict.verdict)} (score ${verdict.score})`,
  );
  lines.push(`  ${verdict.reason}`);
  if (verdict.scope) lines.push(`  scope: ${verdict.scope}`);
  lines.push('');
  lines.push(
    table([
      ['records', 'live', 'candidate', ...(counts.control !== undefined ? ['control'] : [])],
      [
        'valid',
        String(counts.live),
        String(counts.candidate),
        ...(counts.control !== undefined ? [String(counts.control)] : []),
      ],
      [
        'invalid',
        String(counts.invalidLive),
        String(counts.invalidCandidate),
        ...(counts.control !== undefined ? [String(counts.invalidControl)] : []),
      ],
      [
        'duplicate',
        String(counts.duplicateLive),
        String(counts.duplicateCandidate),
        ...(counts.control !== undefined ? [String(counts.duplicateControl)] : []),
      ],
      [
        'sampled out',
        String(counts.sampledOutLive),
        String(counts.sampledOutCandidate),
        ...(counts.control !== undefined ? [String(counts.sampledOutControl)] : []),
      ],
      ...(counts.outOfScopeLive !== undefined
        ? [
            [
              'out of scope',
              String(counts.outOfScopeLive),
              String(counts.outOfScopeCandidate),
              ...(counts.control !== undefined ? [String(counts.outOfScopeControl)] : []),
            ],
            ['unexpected', '-', String(counts.unexpectedCandidate), ...(counts.control !== undefined ? ['-'] : [])],
          ]
        : []),
    ]),
  );
  lines.push('');
  const total = counts.equal + counts.different + counts.missing + counts.extra;
  lines.push(
    table([
      ['outcome', 'keys', 'share'],
      ...(['equal', 'different', 'missing', 'extra'] as const).map((name) => [
        name,
        String(counts[name]),
        total === 0 ? '-' : percent(counts[name] / total),
      ]),
    ]),
  );
  if (counts.noiseOnly) lines.push(`  (${counts.noiseOnly} records differ only in noise fields and count as equal)`);
  const { stats } = verdict;
  lines.push('');
  lines.push(
    `mismatch rate ${percent(stats.rate)} [${percent(stats.lower)}, ${percent(stats.upper)}] vs tolerance ${percent(stats.tolerance)} (alpha ${stats.alpha})`,
  );
  if (result.fields.length > 0) {
    lines.push('');
    lines.push(
      table([
        ['field', 'differing', 'value', 'type', 'missing', 'extra'],
        ...result.fields
          .slice(0, 20)
          .map((field) => [
            field.noise ? `${field.path} (noise)` : field.path,
            String(field.different),
            String(field.kinds.value),
            String(field.kinds.type),
            String(field.kinds.missing),
            String(field.kinds.extra),
          ]),
      ]),
    );
    if (result.fields.length > 20) lines.push(`  … and ${result.fields.length - 20} more fields (see --json)`);
  }
  lines.push(...examples(result, (text) => paint(1, text)));
  return `${lines.join('\n')}\n`;
}

function shown(value: unknown): string {
  if (value === undefined) return '(absent)';
  const text = JSON.stringify(value);
  return text.length > VALUE_CHARS ? `${text.slice(0, VALUE_CHARS)}…` : text;
}

const typeOf = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);

/** `live → candidate`, with escapes and what differs when both would print the same. */
function change(sample: DiffSample): string {
  const hidden = invisibleDifference(sample.live, sample.candidate);
  if (hidden) return `${escapedJson(sample.live)} → ${escapedJson(sample.candidate)}  (differ only in ${hidden})`;
  if (sample.kind === 'type') {
    return `${shown(sample.live)} (${typeOf(sample.live)}) → ${shown(sample.candidate)} (${typeOf(sample.candidate)})`;
  }
  return `${shown(sample.live)} → ${shown(sample.candidate)}`;
}

function where(sample: DiffSample): string {
  const at = Object.entries(sample.position ?? {})
    .map(([side, label]) => `${side} ${label}`)
    .join(', ');
  return at ? `  [${at}]` : '';
}

const keyOf = (sample: DiffSample) => (sample.key !== undefined ? `key ${JSON.stringify(sample.key)}` : '');

/**
 * Examples grouped so each kind of problem shows, not just the first lines of the file: the most
 * frequent differing fields, type changes, missing and extra keys, and invalid records with reasons.
 */
function examples(result: BatchResult, heading: (text: string) => string): string[] {
  const lines: string[] = [];
  const section = (title: string, body: string[]) => {
    if (body.length === 0) return;
    lines.push('', heading(title), ...body);
  };
  const differing = result.samples.filter((s) => s.outcome === 'different');

  const top = result.fields.filter((field) => field.different > 0).slice(0, TOP_FIELDS);
  section(
    `examples of the ${top.length === 1 ? 'differing field' : `${top.length} most frequent differing fields`}:`,
    top.flatMap((field) => {
      const kinds = Object.entries(field.kinds)
        .filter(([, n]) => n > 0)
        .map(([kind, n]) => `${kind} ${n}`)
        .join(', ');
      return [
        `  ${field.path}: ${field.different} differ (${kinds})${field.noise ? ' (noise)' : ''}`,
        ...differing
          .filter((s) => s.field === field.path)
          .slice(0, EXAMPLES_PER_GROUP)
          .map((s) => `    ${keyOf(s)}: ${change(s)}${where(s)}`),
      ];
    }),
  );
  // One line per field whose type changed, with one example: the field list above counts them.
  section(
    'type changes:',
    result.fields
      .filter((field) => field.kinds.type > 0)
      .slice(0, TOP_FIELDS)
      .map((field) => {
        const example = differing.find((s) => s.field === field.path && s.kind === 'type');
        const shownExample = example ? `, e.g. ${keyOf(example)}: ${change(example)}${where(example)}` : '';
        return `  ${field.path}: ${field.kinds.type}${shownExample}`;
      }),
  );
  for (const [outcome, title] of [
    ['missing', 'on live only'],
    ['extra', 'on candidate only'],
  ] as const) {
    const count = result.counts[outcome];
    section(
      `${outcome}: ${count} ${count === 1 ? 'key' : 'keys'} ${title}`,
      result.samples
        .filter((s) => s.outcome === outcome)
        .slice(0, EXAMPLES_PER_GROUP)
        .map((s) => `  ${keyOf(s)}${where(s)}`),
    );
  }
  section(
    'invalid records:',
    Object.entries(result.invalidReasons).flatMap(([side, reasons]) => {
      const total = Object.values(reasons ?? {}).reduce((sum, n) => sum + n, 0);
      if (total === 0) return [];
      const byReason = Object.entries(reasons ?? {})
        .sort(([, a], [, b]) => b - a)
        .map(([reason, n]) => `${n} ${reason}`)
        .join(', ');
      return [
        `  ${side}: ${total} (${byReason})`,
        ...result.samples
          .filter((s) => s.outcome === 'invalid' && s.side === side)
          .slice(0, EXAMPLES_PER_GROUP)
          .map((s) => `    ${s.reason}${where(s)}${s.raw !== undefined ? `: ${shown(s.raw)}` : ''}`),
      ];
    }),
  );
  return lines;
}
