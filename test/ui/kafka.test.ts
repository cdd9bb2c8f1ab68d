import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formats } from '../../src/ui/view/format.js';
import { describeInBrowser, launchBrowser, screenshot, UI_TIMEOUT } from '../helpers/browser.js';
import { kafkaFixture } from '../helpers/kafka.js';
import { freePort, getJson, startServe } from '../helpers/serve.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/** The diff explorer over a comparison of two Kafka topics on the run's real broker. */
const kafka = kafkaFixture('shadowdiff-ui-test');
const files = tempDir();
const format = formats('en-US', 'UTC');
const COUNT = 300;
let serve: ChildProcess;
let base: string;
let browser: Browser;
let topics: { live: string; candidate: string };

interface Detail {
  runtime: {
    openWindows: number;
    closedWindows: number;
    sides: Record<string, { connected: boolean; consumerLag: number | null; watermark: string | null }>;
  };
}

describeInBrowser('diff explorer over Kafka topics', () => {
  beforeAll(async () => {
    const suffix = randomUUID().slice(0, 8);
    topics = { live: `ui.v1-${suffix}`, candidate: `ui.v2-${suffix}` };
    await kafka.admin.createTopics([
      { topic: topics.live, partitions: 1 },
      { topic: topics.candidate, partitions: 1 },
    ]);
    const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
    for (const [side, topic] of Object.entries(topics)) {
      const records = Array.from({ length: COUNT }, (_, i) => ({
        value: JSON.stringify({
          id: `r-${i}`,
          t: new Date(t0 + i * 100).toISOString(),
          amount: side === 'candidate' && i % 30 === 0 ? i + 1 : i,
        }),
      }));
      // The last record moves the watermark past the first three windows and their lateness.
      records.push({ value: JSON.stringify({ id: 'flush', t: new Date(t0 + 60_000).toISOString(), amount: 0 }) });
      await kafka.producer.send(topic, records);
    }
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const config = files.write(
      'kafka-ui.yaml',
      `server: {host: 127.0.0.1, port: ${port}}
storage: {path: ${files.dir}/kafka-ui.duckdb}
kafka: {brokers: [${kafka.brokers}]}
comparisons:
  - id: orders
    live: {kafka: {topic: ${topics.live}}}
    candidate: {kafka: {topic: ${topics.candidate}}}
    key: [id]
    time: {field: t}
    window: {size: 10s, allowedLateness: 1s, idleTimeout: 5m}
    verdict: {tolerance: 0.01, minSamples: 10}
`,
    );
    serve = await startServe(config, port);
    await waitFor(
      async () => (await getJson<Detail>(`${base}/v1/comparisons/orders`)).body.runtime.closedWindows === 3,
      90_000,
      'three closed windows',
    );
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    if (serve && serve.exitCode === null) {
      serve.kill('SIGTERM');
      await once(serve, 'exit');
    }
    files.remove();
  });

  it('shows the sides, windows, band and an example as the API gives them', async () => {
    const context = await browser.newContext({ locale: 'en-US', timezoneId: 'UTC' });
    context.setDefaultTimeout(UI_TIMEOUT);
    const page = await context.newPage();
    const { body: verdict } = await getJson<{ verdict: string }>(`${base}/v1/comparisons/orders/verdict`);
    await page.goto(`${base}/?refresh=500#/comparisons/orders`);
    await page.locator(`h1 [data-verdict=${verdict.verdict}]`).waitFor();
    expect(await page.getByTestId('closed-windows').textContent()).toBe('3');
    // Consumer lag and watermarks settle as the last offsets are committed: the page follows the API.
    const shown = async () => {
      const { body: detail } = await getJson<Detail>(`${base}/v1/comparisons/orders`);
      const rows = await page
        .locator('[data-testid=sides-table] tbody tr')
        .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((cell) => cell.textContent)));
      const expected = ['live', 'candidate'].map((side) => {
        const state = detail.runtime.sides[side]!;
        const lag = state.consumerLag === null ? '–' : format.count(state.consumerLag);
        return [side, format.time(state.watermark), lag, 'connected'];
      });
      const open = await page.getByTestId('open-windows').textContent();
      return {
        rows: rows.map((cells) => [cells[0], cells[1], cells[3], cells[4]]),
        expected,
        open,
        openExpected: format.count(detail.runtime.openWindows),
      };
    };
    await waitFor(
      async () => {
        const now = await shown();
        return JSON.stringify(now.rows) === JSON.stringify(now.expected) && now.open === now.openExpected;
      },
      UI_TIMEOUT,
      'the sides as the API gives them',
    );
    expect(await page.locator('[data-testid=band-chart] circle').count()).toBe(3);
    // No read token configured: the example of the differing field shows at once, its path marked.
    const marked = page.getByTestId('sample').first().locator('[data-side=candidate] [data-differs=true]');
    await marked.waitFor();
    expect(await marked.getAttribute('data-path')).toBe('amount');
    await screenshot(page, 'kafka-1440');

    // The example's whole record pair names each record's topic, partition and offset.
    await page.getByTestId('sample').first().getByTestId('open-pair').click();
    const dialog = page.getByTestId('record-pair');
    await dialog.locator('[data-side=candidate]').waitFor();
    const key = (await dialog.locator('[data-fact=key]').textContent()) ?? '';
    const i = Number(key.replace(/^r-/, ''));
    expect(i % 30).toBe(0);
    expect(await dialog.locator('[data-fact="live at"]').textContent()).toBe(`${topics.live}/0@${i}`);
    expect(await dialog.locator('[data-fact="candidate at"]').textContent()).toBe(`${topics.candidate}/0@${i}`);
    for (const side of ['live', 'candidate']) {
      const tree = dialog.locator(`[data-side=${side}]`);
      const paths = await tree
        .locator('[data-path]')
        .evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-path')));
      expect(paths).toEqual(['', 'id', 't', 'amount']);
      expect(await tree.locator('[data-differs=true]').getAttribute('data-path')).toBe('amount');
      expect(await tree.locator('[data-path=amount] > .value').textContent()).toBe(String(side === 'live' ? i : i + 1));
    }
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.querySelector('dialog[open]') === null);
    await context.close();
  });
});
