import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formats } from '../../src/ui/view/format.js';
import { describeInBrowser, launchBrowser, screenshot, UI_TIMEOUT } from '../helpers/browser.js';
import { INVALID_LINES, uiDataset } from '../helpers/ui-data.js';

/** `shadowdiff diff --html`: one file that shows the batch diff offline (`npm run build` first). */
const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const run = promisify(execFile);
const data = uiDataset();
const format = formats('en-US', 'UTC');
let browser: Browser;

interface BatchOutput {
  verdict: { verdict: string; reason: string; stats: { sampled: number; lower: number; upper: number } };
  fields: { path: string; noise?: boolean }[];
  samples: { outcome: string; field?: string; live?: unknown; candidate?: unknown }[];
}

async function diff(html: string): Promise<{ code: number; output: BatchOutput }> {
  const config = data.files.write(
    'batch.yaml',
    `comparisons:
  - id: orders-batch
    live: {file: {path: ${data.fail.live}}}
    candidate: {file: {path: ${data.fail.candidate}}}
    key: [id]
    time: {field: t}
    window: {size: 1m}
    redact: [customer.name]
    verdict: {tolerance: 0.01, minSamples: 100}
`,
  );
  const args = [CLI, 'diff', '--config', config, '--live', data.fail.live, '--candidate', data.fail.candidate];
  args.push('--control', data.fail.control, '--json', '--html', html);
  try {
    const { stdout } = await run(process.execPath, args);
    return { code: 0, output: JSON.parse(stdout) };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, output: JSON.parse(failed.stdout) };
  }
}

describeInBrowser('shadowdiff diff --html', () => {
  beforeAll(async () => {
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    data.files.remove();
  });

  it('opens from file:// with the network off and shows the verdict, fields and a marked example', async () => {
    const html = `${data.files.dir}/report.html`;
    const { code, output } = await diff(html);
    expect(code).toBe(1);
    expect(output.verdict.verdict).toBe('FAIL');
    // --json prints the batch output as without --html; the windows are the report's.
    expect(Object.keys(output)).not.toContain('windows');
    // Redacted as --json is: the report holds no more than the JSON output.
    expect(readFileSync(html, 'utf8')).not.toMatch(/"c-\d+"/);
    expect(readFileSync(html, 'utf8')).toContain('"***"');

    const context = await browser.newContext({ locale: 'en-US', timezoneId: 'UTC', offline: true });
    context.setDefaultTimeout(UI_TIMEOUT);
    const requests: string[] = [];
    await context.route('**/*', (route) => {
      requests.push(route.request().url());
      return route.request().url().startsWith('file://') ? route.continue() : route.abort();
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`file://${html}`);
    await page.locator('h1 [data-verdict=FAIL]').waitFor();
    expect(await page.getByTestId('reason').textContent()).toBe(output.verdict.reason);
    expect(await page.getByTestId('evidence').textContent()).toContain(format.count(output.verdict.stats.sampled));
    // The band over the batch's event-time windows ends at the verdict.
    const points = await page
      .locator('[data-testid=band-chart] circle')
      .evaluateAll((circles) => circles.map((c) => ({ ...(c as SVGElement).dataset })));
    expect(points).toHaveLength(5);
    expect(points.at(-1)).toMatchObject({
      sampled: String(output.verdict.stats.sampled),
      lower: String(output.verdict.stats.lower),
      upper: String(output.verdict.stats.upper),
    });
    expect(await page.locator('[data-testid=fields-table] tbody th').allTextContents()).toEqual(
      output.fields.filter((f) => !f.noise).map((f) => f.path),
    );

    // No token and no service: the report holds its examples.
    await page.locator('button[data-field="customer.address.city"]').click();
    await page.getByTestId('sample').first().waitFor();
    const example = output.samples.find((s) => s.outcome === 'different' && s.field === 'customer.address.city')!;
    const marked = page.getByTestId('sample').first().locator('[data-side=candidate] [data-differs=true]');
    expect(await marked.getAttribute('data-path')).toBe('customer.address.city');
    expect(await marked.locator('.value').textContent()).toBe(JSON.stringify(example.candidate));
    await page.getByRole('button', { name: 'Invalid records' }).click();
    await waitForCount(page, '.sample-invalid', INVALID_LINES);

    expect(errors).toEqual([]);
    expect(requests.filter((url) => !url.startsWith('file://'))).toEqual([]);
    await screenshot(page, 'report-offline');
    await context.close();
  });
});

async function waitForCount(page: import('playwright-core').Page, selector: string, count: number): Promise<void> {
  await page.waitForFunction(
    ([css, n]) => document.querySelectorAll(css as string).length === n,
    [selector, count] as const,
    { timeout: UI_TIMEOUT },
  );
}
