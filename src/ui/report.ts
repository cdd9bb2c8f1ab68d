import { writeFile } from 'node:fs/promises';
import type { ComparisonConfig } from '../config/schema.js';
import type { BatchResult } from '../diff/batch.js';
import { renderPage } from './page.js';

/**
 * `shadowdiff diff --html PATH`: the diff explorer's comparison page for one batch diff, in one
 * file that opens from disk with no network. It holds what `--json` prints (samples redacted as
 * configured), so it is as sensitive as that output.
 */
export function reportHtml(result: BatchResult, comparison: ComparisonConfig, now = new Date()): string {
  return renderPage({
    title: `shadowdiff report: ${result.comparison} ${result.verdict.verdict}`,
    report: { generatedAt: now.toISOString(), minSamples: comparison.verdict.minSamples, result },
  });
}

export async function writeHtmlReport(path: string, result: BatchResult, comparison: ComparisonConfig): Promise<void> {
  await writeFile(path, reportHtml(result, comparison));
}
