import type { BatchResult } from '../diff/batch.js';

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
  const examples = result.samples.slice(0, 10);
  if (examples.length > 0) {
    lines.push('');
    lines.push('examples:');
    for (const sample of examples) {
      const where = Object.entries(sample.position ?? {})
        .map(([side, label]) => `${side} ${label}`)
        .join(', ');
      const what =
        sample.outcome === 'different'
          ? `${sample.field} (${sample.kind}): ${JSON.stringify(sample.live)} → ${JSON.stringify(sample.candidate)}`
          : sample.outcome === 'invalid'
            ? `${sample.side} record invalid (${sample.reason})`
            : sample.outcome;
      lines.push(
        `  ${sample.key !== undefined ? `key ${JSON.stringify(sample.key)}: ` : ''}${what}${where ? `  [${where}]` : ''}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
