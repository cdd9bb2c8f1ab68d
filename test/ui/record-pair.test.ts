import { type ChildProcess, execFile } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formats } from '../../src/ui/view/format.js';
import { describeInBrowser, launchBrowser, prefixProxy, screenshot, UI_TIMEOUT } from '../helpers/browser.js';
import { differingPathsOf, pairDataset, pairRecord, treePaths, windowOf } from '../helpers/pair-data.js';
import { freePort, startServe } from '../helpers/serve.js';
import { waitFor } from '../helpers/wait.js';

/**
 * One click from an example to its whole record pair, in a real Chromium: against `shadowdiff
 * serve` and in a `diff --html` report opened from file:// (`npm run build` first).
 */
const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const run = promisify(execFile);
const data = pairDataset();
const format = formats('en-US', 'UTC');
let browser: Browser;
let serve: ChildProcess | undefined;
let base: string;
let port: number;
/** The fragment of a pair opened in the first test, opened again after a restart. */
let sharedFragment = '';

async function newPage(options: Parameters<Browser['newContext']>[0] = {}) {
  const context: BrowserContext = await browser.newContext({ locale: 'en-US', timezoneId: 'UTC', ...options });
  context.setDefaultTimeout(UI_TIMEOUT);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  return { context, page, errors };
}

const pathsOf = (scope: Locator) =>
  scope.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-path') ?? '?').sort());

/**
 * The open dialog shows the two whole records of its key, marks exactly the paths where they
 * differ, shows redacted fields masked, and names the window and the positions. Returns the key.
 */
async function expectPair(page: Page): Promise<number> {
  const dialog = page.getByTestId('record-pair');
  await dialog.locator('[data-side=candidate]').waitFor();
  const key = Number(await dialog.locator('[data-fact=key]').textContent());
  const records = { live: pairRecord(key, 'live'), candidate: pairRecord(key, 'candidate') };
  const union = [...new Set([...treePaths(records.live), ...treePaths(records.candidate)])].sort();
  for (const side of ['live', 'candidate'] as const) {
    const tree = dialog.locator(`[data-side=${side}]`);
    expect(await pathsOf(tree.locator('[data-path]'))).toEqual(union);
    expect(await pathsOf(tree.locator('[data-differs=true]'))).toEqual(differingPathsOf(key));
    const value = (path: string) => tree.locator(`[data-path="${path}"] > .value`).textContent();
    expect(await value('amount')).toBe(JSON.stringify(records[side].amount));
    expect(await value('items[1].sku')).toBe(JSON.stringify(records[side].items[1]?.sku));
    expect(await value('customer.name')).toBe('"***"');
    expect(await value('customer.email')).toBe('"***"');
  }
  expect(await dialog.textContent()).not.toMatch(/name-\d|live-\d|cand-\d/);
  expect(await dialog.locator('[data-fact=window]').textContent()).toBe(
    format.time(new Date(windowOf(key)).toISOString()),
  );
  expect(await dialog.locator('[data-fact="live at"]').textContent()).toMatch(/live\.ndjson/);
  expect(await dialog.locator('[data-fact="candidate at"]').textContent()).toMatch(/candidate\.ndjson/);
  return key;
}

const isOpen = (page: Page) => page.evaluate(() => document.querySelector('dialog[open]') !== null);

/** Opens the first example's pair from the keyboard, closes it with Escape; returns its fragment. */
async function openAndClose(page: Page, field: string, pageHash: string): Promise<string> {
  await page.locator(`button[data-field="${field}"]`).click();
  const link = page.getByTestId('samples').getByTestId('open-pair').first();
  await link.waitFor();
  const sampleId = await link.getAttribute('data-sample');
  await link.focus();
  await page.keyboard.press('Enter');
  const key = await expectPair(page);
  expect(differingPathsOf(key).map((path) => path.replace(/\[\d+\]/g, '[]'))).toContain(field);
  const fragment = await page.evaluate(() => window.location.hash);
  expect(fragment).toMatch(new RegExp(`${encodeURIComponent(sampleId ?? '?')}$`));
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => document.querySelector('dialog[open]') === null);
  expect(await page.evaluate(() => window.location.hash)).toBe(pageHash);
  expect(await page.evaluate(() => document.activeElement?.getAttribute('data-sample'))).toBe(sampleId);
  return fragment;
}

/** Stacked at 390 px (live above candidate), side by side at 1440 px; nothing wider than the dialog. */
async function expectLayout(page: Page, stacked: boolean): Promise<void> {
  const dialog = page.getByTestId('record-pair');
  const live = await dialog.locator('[data-side=live]').boundingBox();
  const candidate = await dialog.locator('[data-side=candidate]').boundingBox();
  if (stacked) expect(live!.y + live!.height).toBeLessThanOrEqual(candidate!.y + 1);
  else expect(Math.abs(live!.y - candidate!.y)).toBeLessThan(2);
  expect(await dialog.evaluate((d) => d.scrollWidth <= d.clientWidth)).toBe(true);
}

async function expectOneSided(page: Page, outcome: 'Missing' | 'Invalid'): Promise<void> {
  await page.getByRole('button', { name: `${outcome} records` }).click();
  const link = page.getByTestId('samples').getByTestId('open-pair').first();
  await link.click();
  const dialog = page.getByTestId('record-pair');
  if (outcome === 'Missing') {
    await dialog.locator('[data-side=live]').waitFor();
    const key = Number(await dialog.locator('[data-fact=key]').textContent());
    expect(key % 100).toBe(7);
    expect(await pathsOf(dialog.locator('[data-side=live] [data-path]'))).toEqual(
      treePaths(pairRecord(key, 'live')).sort(),
    );
    expect(await dialog.textContent()).toContain('candidate: no record with this key');
  } else {
    // Text that is not JSON cannot be redacted by path: with any redaction it is masked whole.
    expect(await dialog.getByTestId('pair-raw').textContent()).toBe('***');
  }
  expect(await dialog.textContent()).not.toMatch(/name-\d|live-\d|cand-\d/);
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => document.querySelector('dialog[open]') === null);
}

describeInBrowser('the whole record pair behind an example', () => {
  beforeAll(async () => {
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    serve = await startServe(data.serveConfig(port), port);
    await waitFor(
      async () => {
        const response = await fetch(`${base}/v1/comparisons/pairs/verdict`);
        return response.ok && ((await response.json()) as { complete: boolean }).complete;
      },
      60_000,
      'pairs to complete',
    );
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (serve && serve.exitCode === null) {
      serve.kill('SIGTERM');
      await once(serve, 'exit');
    }
    data.files.remove();
  });

  it('opens from a sample of shadowdiff serve, closes with Escape, and opens again from its link, behind a prefix', async () => {
    const { context, page, errors } = await newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${base}/#/comparisons/pairs`);
    await page.locator('h1 [data-verdict=FAIL]').waitFor();
    const fragment = await openAndClose(page, 'customer.email', '#/comparisons/pairs');
    sharedFragment = fragment;
    await openAndClose(page, 'items[].sku', '#/comparisons/pairs');
    await expectOneSided(page, 'Missing');
    await expectOneSided(page, 'Invalid');
    await context.close();

    // The shared link, behind an ingress's path prefix, in light and dark, wide and narrow.
    const proxy = await prefixProxy(Number(new URL(base).port), '/tools/shadowdiff/');
    try {
      for (const [width, scheme] of [
        [1440, 'light'],
        [390, 'dark'],
      ] as const) {
        const shared = await newPage({ viewport: { width, height: 900 }, colorScheme: scheme });
        await shared.page.goto(`${proxy.url}${fragment}`);
        expect(await isOpen(shared.page)).toBe(true);
        await expectPair(shared.page);
        await expectLayout(shared.page, width < 700);
        // What the reader sees: the dialog over the page (a full-page shot would show the page below).
        await screenshot(shared.page, `record-pair-serve-${width}-${scheme}`, false);
        expect(shared.errors).toEqual([]);
        await shared.context.close();
      }
      expect(proxy.outside).toEqual([]);
    } finally {
      await proxy.close();
    }
    expect(errors).toEqual([]);
  });

  it('opens the same link after the service restarts: the pair is stored, and its id stays', async () => {
    expect(sharedFragment).toMatch(/^#\/comparisons\/pairs\/samples\/s[0-9a-f]{32}$/);
    serve!.kill('SIGTERM');
    await once(serve!, 'exit');
    serve = await startServe(data.serveConfig(port), port);
    const { context, page, errors } = await newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${base}/${sharedFragment}`);
    await expectPair(page);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('opens from a sample of a diff --html report from file://, offline, and from its fragment', async () => {
    const html = `${data.files.dir}/report.html`;
    const args = [CLI, 'diff', '--config', data.batchConfig(), '--live', data.live, '--candidate', data.candidate];
    await run(process.execPath, [...args, '--html', html]).catch((error: { code: number }) => {
      if (error.code !== 1) throw error;
    });
    const offline = { offline: true, viewport: { width: 1440, height: 900 } };
    const { context, page, errors } = await newPage(offline);
    const requests: string[] = [];
    await context.route('**/*', (route) => {
      requests.push(route.request().url());
      return route.request().url().startsWith('file://') ? route.continue() : route.abort();
    });
    await page.goto(`file://${html}`);
    await page.locator('h1 [data-verdict=FAIL]').waitFor();
    const fragment = await openAndClose(page, 'customer.email', '');
    expect(fragment).toMatch(/^#samples\/r\d+$/);
    await openAndClose(page, 'note', '');
    await expectOneSided(page, 'Missing');
    await expectOneSided(page, 'Invalid');
    await context.close();

    for (const [width, scheme] of [
      [1440, 'dark'],
      [390, 'light'],
    ] as const) {
      const shared = await newPage({ ...offline, viewport: { width, height: 900 }, colorScheme: scheme });
      await shared.page.goto(`file://${html}${fragment}`);
      await expectPair(shared.page);
      await expectLayout(shared.page, width < 700);
      await screenshot(shared.page, `record-pair-report-${width}-${scheme}`, false);
      expect(shared.errors).toEqual([]);
      await shared.context.close();
    }
    expect(errors).toEqual([]);
    expect(requests.filter((url) => !url.startsWith('file://'))).toEqual([]);
  });
});
