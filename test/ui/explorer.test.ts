import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { nextStep, type VerdictFacts } from '../../src/ui/view/evidence.js';
import { formats } from '../../src/ui/view/format.js';
import { describeInBrowser, launchBrowser, prefixProxy, screenshot, UI_TIMEOUT } from '../helpers/browser.js';
import { freePort, startServe } from '../helpers/serve.js';
import { uiDataset } from '../helpers/ui-data.js';
import { waitFor } from '../helpers/wait.js';

/** The diff explorer in a real Chromium against a real `shadowdiff serve` (`npm run build` first). */
const ADMIN = 'admin-token-for-ui-test';
const READ = 'read-token-for-ui-test';
const data = uiDataset();
const format = formats('en-US', 'UTC');
let serve: ChildProcess;
let base: string;
let browser: Browser;
/** Uncaught errors in any page of a test: each test ends with none. */
const pageErrors: string[] = [];

const api = async <T = Record<string, unknown>>(path: string, token?: string): Promise<T> => {
  const response = await fetch(`${base}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return (await response.json()) as T;
};

interface Stats {
  sampled: number;
  mismatched: number;
  rate: number;
  lower: number;
  upper: number;
}
type VerdictBody = VerdictFacts;

async function newPage(
  options: Parameters<Browser['newContext']>[0] = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale: 'en-US', timezoneId: 'UTC', ...options });
  context.setDefaultTimeout(UI_TIMEOUT);
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return { context, page };
}

/** Opens a comparison page and waits until it shows the verdict the API gives now. */
async function openComparison(page: Page, root: string, id: string): Promise<VerdictBody> {
  const verdict = await api<VerdictBody>(`/v1/comparisons/${id}/verdict`);
  await page.goto(`${root}#/comparisons/${id}`);
  await page.locator(`h1 [data-verdict="${verdict.verdict}"]`).waitFor();
  return verdict;
}

describeInBrowser('diff explorer (shadowdiff serve)', () => {
  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    serve = await startServe(data.config(port, { admin: ADMIN, read: READ }), port);
    for (const id of ['pass', 'fail', 'wait']) {
      await waitFor(
        async () => (await api<VerdictBody>(`/v1/comparisons/${id}/verdict`)).complete,
        60_000,
        `${id} to complete`,
      );
    }
    browser = await launchBrowser();
  });

  afterEach(() => {
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    if (serve && serve.exitCode === null) {
      serve.kill('SIGTERM');
      await once(serve, 'exit');
    }
    data.files.remove();
  });

  it('lists every comparison with its verdict and state, reachable by keyboard', async () => {
    const { items } = await api<{ items: { id: string; state: string; verdict: string }[] }>('/v1/comparisons');
    expect(items.map((item) => item.verdict).sort()).toEqual(['FAIL', 'INCONCLUSIVE', 'PASS']);
    const { context, page } = await newPage();
    await page.goto(`${base}/`);
    const rows = page.locator('[data-testid=comparisons] tbody tr');
    await waitFor(async () => (await rows.count()) === 3, UI_TIMEOUT, 'three rows');
    for (const item of items) {
      const row = rows.filter({ has: page.getByRole('link', { name: item.id, exact: true }) });
      expect(await row.locator('[data-verdict]').getAttribute('data-verdict')).toBe(item.verdict);
      expect(await row.locator('td').nth(1).textContent()).toBe(item.state);
    }
    await screenshot(page, 'list-1440');
    // Tab to the link of `fail` and follow it with Enter.
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate(() => document.activeElement?.textContent)) === 'fail') break;
    }
    await page.keyboard.press('Enter');
    await page.locator('h1 [data-verdict=FAIL]').waitFor();
    await context.close();
  });

  it('shows the verdict, its reason and evidence, and a band whose points are the API windows', async () => {
    const { context, page } = await newPage({ viewport: { width: 1440, height: 900 } });
    const verdict = await openComparison(page, `${base}/`, 'fail');
    expect(verdict.verdict).toBe('FAIL');
    expect(await page.getByTestId('reason').textContent()).toBe(verdict.reason);
    expect(await page.getByTestId('headline').textContent()).toContain('more than allowed');
    const evidence = await page.getByTestId('evidence').textContent();
    expect(evidence).toContain(format.count(verdict.stats.sampled));
    expect(evidence).toContain(format.percent(verdict.stats.rate));
    expect(evidence).toContain(`${format.percent(verdict.stats.lower)} – ${format.percent(verdict.stats.upper)}`);
    const summary = await api<{ counts: Record<string, number> }>('/v1/comparisons/fail/summary');
    const outcomes = await page.locator('[data-testid=outcomes] tbody tr td:first-of-type').allTextContents();
    expect(outcomes).toEqual(
      ['equal', 'different', 'missing', 'extra'].map((name) => format.count(summary.counts[name]!)),
    );

    const windows = await api<{ items: { end: string; mismatchRate: Stats }[] }>(
      '/v1/comparisons/fail/windows?limit=500',
    );
    const points = await page
      .locator('[data-testid=band-chart] circle')
      .evaluateAll((circles) => circles.map((c) => ({ ...(c as SVGElement).dataset })));
    const expected = [...windows.items].reverse().map((w) => ({
      at: w.end,
      sampled: String(w.mismatchRate.sampled),
      rate: String(w.mismatchRate.rate),
      lower: String(w.mismatchRate.lower),
      upper: String(w.mismatchRate.upper),
    }));
    expect(points).toEqual(expected);
    // The newest point is the verdict the gates read.
    expect(points.at(-1)).toMatchObject({
      sampled: String(verdict.stats.sampled),
      lower: String(verdict.stats.lower),
      upper: String(verdict.stats.upper),
    });
    const detail = await api<{ runtime: { closedWindows: number; openWindows: number } }>('/v1/comparisons/fail');
    expect(await page.getByTestId('closed-windows').textContent()).toBe(format.count(detail.runtime.closedWindows));
    await screenshot(page, 'comparison-fail-1440');
    await context.close();
  });

  it('hides noise fields with the switch, by keyboard too', async () => {
    const { context, page } = await newPage();
    await openComparison(page, `${base}/`, 'fail');
    const fields = page.locator('[data-testid=fields-table] tbody th');
    await fields.first().waitFor();
    expect(await fields.allTextContents()).toEqual(['amount', 'customer.address.city']);
    const toggle = page.getByRole('switch', { name: /Hide noise fields/ });
    expect(await toggle.isChecked()).toBe(true);
    await toggle.focus();
    await page.keyboard.press('Space');
    await waitFor(async () => (await fields.count()) === 3, UI_TIMEOUT, 'the noise field to show');
    expect(await fields.allTextContents()).toEqual(['trace_idnoise', 'amount', 'customer.address.city']);
    await context.close();
  });

  it('asks for the read token once, keeps it out of the URL, cookies and storage, and marks the differing path', async () => {
    const { context, page } = await newPage();
    await openComparison(page, `${base}/`, 'fail');
    await page.locator('button[data-field="customer.address.city"]').click();
    const form = page.getByTestId('read-token-form');
    await form.waitFor();
    expect(await page.getByTestId('sample').count()).toBe(0);
    // Counts stay visible without the token.
    expect(await page.getByTestId('fields-table').isVisible()).toBe(true);

    await page.getByLabel('Read token').fill('not-the-token');
    await page.getByRole('button', { name: 'Show records' }).click();
    await page.getByText('That token was not accepted.').waitFor();
    await page.getByLabel('Read token').fill(READ);
    await page.getByRole('button', { name: 'Show records' }).click();
    await page.getByTestId('sample').first().waitFor();

    const { items } = await api<{ items: { live: unknown; candidate: unknown }[] }>(
      '/v1/comparisons/fail/samples?field=customer.address.city&outcome=different&noise=exclude&limit=10',
      READ,
    );
    expect(await page.getByTestId('sample').count()).toBe(items.length);
    const first = page.getByTestId('sample').first();
    for (const side of ['live', 'candidate'] as const) {
      const marked = first.locator(`[data-side=${side}] [data-differs=true]`);
      expect(await marked.count()).toBe(1);
      expect(await marked.getAttribute('data-path')).toBe('customer.address.city');
      expect(await marked.locator('.value').textContent()).toBe(JSON.stringify(items[0]![side]));
    }

    // The token is reused for other records without asking again: invalid records with their reason.
    await page.getByRole('button', { name: 'Invalid records' }).click();
    await page.locator('.sample-invalid').first().waitFor();
    expect(await page.getByTestId('read-token-form').count()).toBe(0);
    expect(await page.locator('.sample-invalid').first().textContent()).toContain('malformed');

    expect(page.url()).not.toContain(READ);
    expect(await context.cookies()).toEqual([]);
    const stored = await page.evaluate(() => [localStorage.length, sessionStorage.length]);
    expect(stored).toEqual([0, 0]);
    expect(await page.content()).not.toContain(READ);
    await screenshot(page, 'samples-1440');
    await context.close();
  });

  it('says what an INCONCLUSIVE verdict needs, resets with the admin token typed, and follows changes live', async () => {
    const before = await api<{ runtime: { epoch: number } }>('/v1/comparisons/wait');
    const { context, page } = await newPage();
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    const verdict = await openComparison(page, `${base}/?refresh=500`, 'wait');
    expect(verdict.verdict).toBe('INCONCLUSIVE');
    expect(await page.getByTestId('next-step').textContent()).toBe(nextStep(verdict, 100, format));
    expect(await page.getByTestId('next-step').textContent()).toMatch(
      /^Needs about [\d,]+ more samples at the current rate/,
    );
    await page.getByLabel('Admin token').fill('wrong-admin-token');
    await page.getByRole('button', { name: 'Reset comparison' }).click();
    await page.getByText(/^Refused \(401\)/).waitFor();
    expect((await api<{ runtime: { epoch: number } }>('/v1/comparisons/wait')).runtime.epoch).toBe(
      before.runtime.epoch,
    );
    await page.getByLabel('Admin token').fill(ADMIN);
    await page.getByRole('button', { name: 'Reset comparison' }).click();
    await page.getByText('Reset: a new epoch started.').waitFor();
    expect((await api<{ runtime: { epoch: number } }>('/v1/comparisons/wait')).runtime.epoch).toBe(
      before.runtime.epoch + 1,
    );
    const epochShown = async () => (await page.getByTestId('epoch').textContent())?.split(',')[0];
    await waitFor(async () => (await epochShown()) === String(before.runtime.epoch + 1), UI_TIMEOUT, 'the new epoch');
    // A reset by someone else shows up by polling.
    const reset = await fetch(`${base}/v1/comparisons/wait/reset`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(reset.status).toBe(200);
    await waitFor(
      async () => (await epochShown()) === String(before.runtime.epoch + 2),
      UI_TIMEOUT,
      'the polled epoch',
    );
    expect(requests.some((url) => url.includes(ADMIN))).toBe(false);
    expect(await context.cookies()).toEqual([]);
    await context.close();
  });

  it('creates a comparison from the form and deletes it, with the admin token', async () => {
    const { context, page } = await newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${base}/`);
    const body = {
      id: 'made-in-ui',
      live: { file: { path: data.pass.live } },
      candidate: { file: { path: data.pass.candidate } },
      key: ['id'],
      time: { field: 't' },
      verdict: { tolerance: 0.05, minSamples: 100 },
    };
    await page.getByLabel('Comparison (JSON, as an entry of the config file)').fill(JSON.stringify(body));
    await page.locator('#create-token').fill('wrong-admin-token');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByText(/^Refused \(401\)/).waitFor();
    await page.locator('#create-token').fill(ADMIN);
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator('h1', { hasText: 'made-in-ui' }).waitFor();
    expect(page.url()).toBe(`${base}/#/comparisons/made-in-ui`);
    await page.getByLabel('Admin token').fill(ADMIN);
    await page.getByRole('button', { name: 'Delete comparison' }).click();
    await page.locator('[data-testid=comparisons]').waitFor();
    const { items } = await api<{ items: { id: string }[] }>('/v1/comparisons');
    expect(items.map((item) => item.id).sort()).toEqual(['fail', 'pass', 'wait']);
    await context.close();
  });

  it('works behind a path prefix: every request stays under it', async () => {
    const proxy = await prefixProxy(Number(new URL(base).port), '/tools/shadowdiff/');
    try {
      const { context, page } = await newPage();
      const requests: string[] = [];
      page.on('request', (request) => requests.push(new URL(request.url()).pathname));
      await page.goto(proxy.url);
      await page.getByRole('link', { name: 'fail', exact: true }).click();
      await page.locator('h1 [data-verdict=FAIL]').waitFor();
      await page.locator('[data-testid=band-chart] circle').first().waitFor();
      await page.locator('button[data-field="amount"]').click();
      await page.getByLabel('Read token').fill(READ);
      await page.getByRole('button', { name: 'Show records' }).click();
      await page.getByTestId('sample').first().waitFor();
      expect(proxy.outside).toEqual([]);
      expect(requests.length).toBeGreaterThan(4);
      expect(requests.filter((path) => !path.startsWith('/tools/shadowdiff/'))).toEqual([]);
      await context.close();
    } finally {
      await proxy.close();
    }
  });

  it('fits 390 px without horizontal scrolling, in dark mode, in the reader locale', async () => {
    const { context, page } = await newPage({
      viewport: { width: 390, height: 844 },
      colorScheme: 'dark',
      locale: 'de-DE',
      timezoneId: 'Europe/Berlin',
    });
    const verdict = await openComparison(page, `${base}/`, 'fail');
    await page.locator('button[data-field="customer.address.city"]').click();
    await page.getByLabel('Read token').fill(READ);
    await page.getByRole('button', { name: 'Show records' }).click();
    await page.getByTestId('sample').first().waitFor();
    const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    expect(widths[0]).toBeLessThanOrEqual(widths[1]!);
    expect(await page.getByTestId('evidence').textContent()).toContain(formats('de-DE').count(verdict.stats.sampled));
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).toBe('rgb(13, 17, 23)');
    await screenshot(page, 'samples-390-dark');
    await page.goto(`${base}/`);
    await page.locator('[data-testid=comparisons] tbody tr').first().waitFor();
    const listWidths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    expect(listWidths[0]).toBeLessThanOrEqual(listWidths[1]!);
    await context.close();
  });
});
