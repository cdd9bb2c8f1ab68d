import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import type { ProduceMessage } from '../../src/sources/kafka/client.js';
import { kafkaFixture } from '../helpers/kafka.js';
import {
  aheadPartitionScenario,
  createTopicPair,
  flush,
  kafkaServeConfig,
  kafkaTruth,
  produceOrders,
  STEP_MS,
  T0,
  WINDOW_MS,
} from '../helpers/kafka-truth.js';
import {
  checkpointWatch,
  INGEST_BOUND_MS,
  kill9,
  restart,
  runAheadUntilKilled,
  type Seen,
  seen,
  storedPositions,
  VERDICT_BOUND_MS,
} from '../helpers/recovery.js';
import { freePort, getJson, startServe } from '../helpers/serve.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/** Issue 12 items 7 and 9 through the real broker of test/global-setup.ts and `dist/` (run `npm run build` first). */
const kafka = kafkaFixture('shadowdiff-recovery-test');
const files = tempDir();
afterAll(() => files.remove());

interface SummaryBody {
  counts: Record<string, number> & { live: number; candidate: number };
  windows: { open: number; closed: number };
}

const summaryOf = async (base: string) => (await getJson<SummaryBody>(`${base}/summary`)).body;

/** Waits until the summary has counted `n` live records (replays are not counted again). */
const liveCounted = (base: string, n: number, timeoutMs = 60_000) =>
  waitFor(async () => (await summaryOf(base)).counts.live >= n, timeoutMs, `${n} live records counted`);

/** Waits until the orders' windows are closed, reads the summary and the verdict, and stops the service. */
async function finish(
  child: ChildProcess,
  base: string,
  windows: number,
): Promise<{ summary: SummaryBody; verdict: { reason: string } }> {
  await waitFor(
    async () => (await summaryOf(base)).windows.closed >= windows,
    120_000,
    `all ${windows} windows of the orders closed`,
  );
  const summary = await summaryOf(base);
  const verdict = (await getJson<{ reason: string }>(`${base}/verdict`)).body;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  return { summary, verdict };
}

/**
 * Starts the service and kills it with SIGKILL the instant it logs that it stores a checkpoint
 * that `when` picks (by its number of window-result statements: > 0 for a window close).
 */
async function startKilledAt(config: string, port: number, when: (statements: number) => boolean) {
  let child: ChildProcess | undefined;
  let hit: number | undefined;
  const onLogLine = (line: string) => {
    if (hit !== undefined || !line.includes('"storing checkpoint"')) return;
    const { statements } = JSON.parse(line) as { statements: number };
    if (!when(statements)) return;
    hit = statements;
    child?.kill('SIGKILL');
  };
  child = await startServe(config, port, {}, { onLogLine });
  // A line that came before startServe returned.
  if (hit !== undefined) child.kill('SIGKILL');
  const started = child;
  return {
    child: started,
    statements: () => hit,
    async killed(timeoutMs: number, what: string) {
      await waitFor(() => hit !== undefined, timeoutMs, `a kill at ${what}`);
      await kill9(started);
    },
  };
}

/** What retention does to a topic's only partition: the log starts at `offset` from now on. */
async function deleteRecordsBefore(topic: string, offset: number): Promise<void> {
  // One admin per topic: a kafkajs admin that deleted records of one topic failed the next with
  // KafkaJSBrokerNotFound.
  const admin = new Kafka({
    clientId: 'shadowdiff-recovery-retention',
    brokers: kafka.brokers.split(','),
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    // kafkajs finds the partition's leader in metadata it must have loaded first.
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: String(offset) }] });
  } finally {
    await admin.disconnect();
  }
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
        await produceOrders(kafka.producer, topics, truth, { from, to: half });
        if (before) {
          const restarted = await restart(start, base, before);
          child = restarted.child;
          measured.push({ verdictMs: restarted.verdictMs, ingestMs: restarted.ingestMs });
        }
        // The rest of the round arrives while it runs; it dies with a part of it counted.
        const producing = produceOrders(
          kafka.producer,
          topics,
          truth,
          { from: half, to: from + perRound },
          { chunk: 100 },
        );
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
      const { summary } = await finish(child, base, truth.windows);
      expect(summary.counts).toMatchObject(truth.expected);
    } finally {
      await kill9(child);
    }
  });

  it('is killed the instant it stores a window close, its first checkpoint after the restart, a periodic checkpoint, and ends with exact counts', async () => {
    const truth = kafkaTruth(6000);
    const topics = await createTopicPair(kafka.admin);
    const config = files.write('instant.yaml', kafkaServeConfig(`${files.dir}/instant.duckdb`, kafka.brokers, topics));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}/v1/comparisons/orders-v2`;
    await produceOrders(kafka.producer, topics, truth, { from: 0, to: 1500 });

    const first = await startKilledAt(config, port, (statements) => statements > 0);
    await first.killed(90_000, 'a window close');
    // The first checkpoint after a restart is the one that stores what the replay rebuilt so far.
    const replaying = await startKilledAt(config, port, () => true);
    await replaying.killed(90_000, 'the first checkpoint after a restart');

    // Armed once it counts records it never had before: a checkpoint of new records and open windows.
    let armed = false;
    const second = await startKilledAt(config, port, (statements) => armed && statements === 0);
    // Paced: ~4 s per window, so checkpoints come between window closes.
    const producing = produceOrders(
      kafka.producer,
      topics,
      truth,
      { from: 1500, to: 3000 },
      { chunk: 50, pauseMs: 400 },
    );
    try {
      await liveCounted(base, 1600, 90_000);
      armed = true;
      await second.killed(90_000, 'a periodic checkpoint');
    } finally {
      await kill9(second.child);
      await producing;
    }
    console.log(
      `killed at checkpoints with ${first.statements()}, ${replaying.statements()}, ${second.statements()} window statements`,
    );

    const third = await startServe(config, port);
    try {
      await produceOrders(kafka.producer, topics, truth, { from: 3000, to: truth.count });
      await kafka.producer.send(topics.live, flush());
      await kafka.producer.send(topics.candidate, flush());
      const { summary } = await finish(third, base, truth.windows);
      expect(summary.counts).toMatchObject(truth.expected);
    } finally {
      await kill9(third);
    }
  });
});

describe('shadowdiff serve over Kafka with sampling, killed with SIGKILL', () => {
  it('closes no window before the partitions it restored have replayed (a partition whose open-window records were all sampled out is ahead)', async () => {
    const scenario = await aheadPartitionScenario();
    const topics = await createTopicPair(kafka.admin, { partitions: 2 });
    const send = async (messages: ProduceMessage[]) => {
      await kafka.producer.send(topics.live, messages);
      await kafka.producer.send(topics.candidate, messages);
    };
    const storage = `${files.dir}/sampled.duckdb`;
    const config = files.write(
      'sampled.yaml',
      kafkaServeConfig(storage, kafka.brokers, topics, scenario.sampling, scenario.idleTimeout),
    );
    const port = await freePort();
    const base = `http://127.0.0.1:${port}/v1/comparisons/orders-v2`;
    await send(scenario.before);
    await runAheadUntilKilled({
      config,
      port,
      storage,
      topics,
      countedBefore: scenario.countedBefore,
      summary: () => summaryOf(base),
    });

    await send(scenario.after);
    const second = await startServe(config, port);
    try {
      const { summary } = await finish(second, base, scenario.windows);
      expect(summary.counts).toMatchObject(scenario.expected);
    } finally {
      await kill9(second);
    }
  });
});

describe('shadowdiff serve over Kafka, after retention deleted records its checkpoint needs', () => {
  /** One partition a side, the same orders on both (1 in 25 changed): order i is at offset i of each topic. */
  const count = 2400;
  const order = (i: number, side: 'live' | 'candidate'): ProduceMessage => {
    const t = T0 + i * STEP_MS;
    const amount = side === 'candidate' && i % 25 === 0 ? i + 0.5 : i;
    const value = JSON.stringify({ order_id: `o-${i}`, event_time: new Date(t).toISOString(), amount });
    return { key: `o-${i}`, value, timestamp: String(t) };
  };
  const produce = async (topics: { live: string; candidate: string }, from: number, to: number) => {
    for (const side of ['live', 'candidate'] as const) {
      const messages = Array.from({ length: to - from }, (_, n) => order(from + n, side));
      await kafka.producer.send(topics[side], messages);
    }
  };

  it('counts exactly the records the log no longer has as lost, and every other count adds up', async () => {
    const topics = await createTopicPair(kafka.admin, { partitions: 1 });
    const storage = `${files.dir}/retention.duckdb`;
    const config = files.write('retention.yaml', kafkaServeConfig(storage, kafka.brokers, topics));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}/v1/comparisons/orders-v2`;

    // Windows 0 and 1 close; 200 records of window 2 stay buffered.
    await produce(topics, 0, 1200);
    const watch = checkpointWatch();
    const first = await startServe(config, port, {}, { onLogLine: watch.onLogLine });
    try {
      await waitFor(
        async () => {
          const { counts } = await summaryOf(base);
          return counts.live === 1200 && counts.candidate === 1200;
        },
        60_000,
        'every record counted',
      );
      await waitFor(watch.stored, 30_000, 'a checkpoint of every record counted');
      // The line comes just before its transaction: time for it to commit (a kill before it leaves the
      // previous checkpoint, which the expectations below are read from all the same).
      await sleep(1000);
    } finally {
      await kill9(first);
    }

    const stored = await storedPositions(storage);
    const live = stored.get(`${topics.live}/0`);
    const candidate = stored.get(`${topics.candidate}/0`);
    if (!live || !candidate) throw new Error(`no stored positions: ${JSON.stringify([...stored])}`);
    for (const p of [live, candidate]) {
      // Event times rise with offsets: every counted record from the resume position on is in an open window.
      expect(p.buffered).toBeGreaterThan(1);
      expect(p.buffered).toBe(p.position + 1 - p.resume);
    }
    await produce(topics, 1200, count);
    // Live loses its buffered records and 50 never counted; the candidate half of its buffered ones.
    const deleteBefore = { live: live.position + 51, candidate: candidate.resume + Math.ceil(candidate.buffered / 2) };
    for (const side of ['live', 'candidate'] as const) await deleteRecordsBefore(topics[side], deleteBefore[side]);

    const lostLines: { side: string; lost: number }[] = [];
    const second = await startServe(
      config,
      port,
      {},
      {
        onLogLine: (line) => {
          if (line.includes('the log no longer has')) lostLines.push(JSON.parse(line));
        },
      },
    );
    try {
      await kafka.producer.send(topics.live, flush(1));
      await kafka.producer.send(topics.candidate, flush(1));
      const lost = { live: deleteBefore.live - live.resume, candidate: deleteBefore.candidate - candidate.resume };
      // The records counter says it too (this process counted every lost record).
      const lostMetric = async (side: string) => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const line = text
          .split('\n')
          .find(
            (l) =>
              l.startsWith('shadowdiff_records_total{') && l.includes(`side="${side}"`) && l.includes('status="lost"'),
          );
        return line === undefined ? 0 : Number(line.split(' ').at(-1));
      };
      await waitFor(
        async () => (await lostMetric('live')) === lost.live && (await lostMetric('candidate')) === lost.candidate,
        60_000,
        `shadowdiff_records_total{status="lost"} at ${JSON.stringify(lost)}`,
      );
      const { summary, verdict } = await finish(second, base, Math.ceil((count * STEP_MS) / WINDOW_MS));
      const resume = { live: live.resume, candidate: candidate.resume };
      const gone = (side: 'live' | 'candidate', i: number) => i >= resume[side] && i < deleteBefore[side];
      const expected = { equal: 0, different: 0, missing: 0, extra: 0, live: 1, candidate: 1 };
      for (let i = 0; i < count; i++) {
        const [l, c] = [!gone('live', i), !gone('candidate', i)];
        if (l) expected.live++;
        if (c) expected.candidate++;
        if (l && c) expected[i % 25 === 0 ? 'different' : 'equal']++;
        else if (l) expected.missing++;
        else if (c) expected.extra++;
      }
      console.log(
        `retention: stored ${JSON.stringify({ live, candidate })}; deleted before ${JSON.stringify(deleteBefore)}; lost ${JSON.stringify(lost)}`,
      );
      expect(summary.counts).toMatchObject({
        ...expected,
        lostLive: lost.live,
        lostCandidate: lost.candidate,
        invalidLive: 0,
        invalidCandidate: 0,
        duplicateLive: 0,
        duplicateCandidate: 0,
        lateLive: 0,
        lateCandidate: 0,
        pendingLive: 1,
        pendingCandidate: 1,
      });
      const lostIn = (side: string) => lostLines.filter((l) => l.side === side).reduce((sum, l) => sum + l.lost, 0);
      expect({ live: lostIn('live'), candidate: lostIn('candidate') }).toEqual(lost);
      expect(verdict.reason).toContain(`${lost.live + lost.candidate} records lost`);
    } finally {
      await kill9(second);
    }
  });

  it('warns at start when a topic keeps records for less than a window plus its allowed lateness', async () => {
    // 5 s < 10 s window + 1 s lateness. No records: the broker has nothing to delete meanwhile.
    const topics = await createTopicPair(kafka.admin, { partitions: 1, config: { 'retention.ms': '5000' } });
    const config = files.write('short.yaml', kafkaServeConfig(`${files.dir}/short.duckdb`, kafka.brokers, topics));
    const warnings: { topic: string; retentionMs: number; neededMs: number }[] = [];
    const child = await startServe(
      config,
      await freePort(),
      {},
      {
        onLogLine: (line) => {
          if (line.includes('keeps records for less than a window')) warnings.push(JSON.parse(line));
        },
      },
    );
    try {
      await waitFor(() => warnings.length >= 2, 60_000, 'a warning per topic');
      expect(warnings.map((w) => [w.topic, w.retentionMs, w.neededMs]).sort()).toEqual(
        [
          [topics.live, 5000, 11_000],
          [topics.candidate, 5000, 11_000],
        ].sort(),
      );
    } finally {
      await kill9(child);
    }
  });
});
