import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { kafkaFixture } from '../helpers/kafka.js';
import { createTopicPair, flush, kafkaServeConfig, kafkaTruth, produceOrders } from '../helpers/kafka-truth.js';
import { INGEST_BOUND_MS, kill9, restart, type Seen, seen, VERDICT_BOUND_MS } from '../helpers/recovery.js';
import { freePort, getJson, startServe } from '../helpers/serve.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/** Issue 12 items 7 and 9 through the real broker of test/global-setup.ts and `dist/` (run `npm run build` first). */
const kafka = kafkaFixture('shadowdiff-recovery-test');
const files = tempDir();
afterAll(() => files.remove());

interface SummaryBody {
  counts: Record<string, number>;
  windows: { open: number; closed: number };
}

const summaryOf = async (base: string) => (await getJson<SummaryBody>(`${base}/summary`)).body;

/** Waits until the summary has counted `n` live records (replays are not counted again). */
const liveCounted = (base: string, n: number, timeoutMs = 60_000) =>
  waitFor(async () => (await summaryOf(base)).counts.live >= n, timeoutMs, `${n} live records counted`);

async function finish(child: ChildProcess, base: string, windows: number): Promise<SummaryBody> {
  await waitFor(
    async () => (await summaryOf(base)).windows.closed >= windows,
    120_000,
    `all ${windows} windows of the orders closed`,
  );
  const summary = await summaryOf(base);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  return summary;
}

describe('shadowdiff serve over Kafka, killed with SIGKILL', () => {
  it('is killed mid-stream 5 times, serves its verdict and resumes ingest soon after each restart, and ends with exact counts', async () => {
    const rounds = 6;
    const perRound = 2000;
    const truth = kafkaTruth(rounds * perRound);
    const topics = await createTopicPair(kafka.admin);
    const config = files.write('kill5.yaml', kafkaServeConfig(`${files.dir}/kill5.duckdb`, kafka.brokers, topics));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}/v1/comparisons/orders-v2`;
    const start = () => startServe(config, port);

    let child = await start();
    let before: Seen | undefined;
    const measured: { verdictMs: number; ingestMs: number }[] = [];
    try {
      for (let round = 0; round < rounds; round++) {
        const from = round * perRound;
        const half = from + perRound / 2;
        // Round 0 arrives while the service runs, the first half of each later one while it is down.
        await produceOrders(kafka.producer, topics, truth, from, half);
        if (before) {
          const restarted = await restart(start, base, before);
          child = restarted.child;
          measured.push({ verdictMs: restarted.verdictMs, ingestMs: restarted.ingestMs });
        }
        // The rest of the round arrives while it runs; it dies with a part of it counted.
        const producing = produceOrders(kafka.producer, topics, truth, half, from + perRound, 100);
        if (round === rounds - 1) {
          await producing;
          await kafka.producer.send(topics.live, flush());
          await kafka.producer.send(topics.candidate, flush());
          break;
        }
        await liveCounted(base, half + perRound / 4);
        before = await seen(base);
        await kill9(child);
        await producing;
      }
      console.log(
        `kill -9 over Kafka, per restart: verdict served after ${measured.map((m) => m.verdictMs).join(', ')} ms; ` +
          `ingest resumed after ${measured.map((m) => m.ingestMs).join(', ')} ms (from process start)`,
      );
      for (const m of measured) {
        expect(m.verdictMs).toBeLessThan(VERDICT_BOUND_MS);
        expect(m.ingestMs).toBeLessThan(INGEST_BOUND_MS);
      }
      const summary = await finish(child, base, truth.windows);
      expect(summary.counts).toMatchObject(truth.expected);
    } finally {
      await kill9(child);
    }
  });
});
