import { appendFileSync, createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { FileReplaySource } from '../../src/sources/file-replay.js';
import type { RawRecord } from '../../src/sources/source.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

// Counted, not replaced: how often a followed file is opened and looked at.
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  return { ...fs, createReadStream: vi.fn(fs.createReadStream) };
});
vi.mock('node:fs/promises', async (original) => {
  const fs = await original<typeof import('node:fs/promises')>();
  return { ...fs, stat: vi.fn(fs.stat) };
});

const files = tempDir();
afterAll(() => files.remove());

const lines = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => JSON.stringify({ id: from + i })).join('\n');

async function replay(source: FileReplaySource, durable = new Map<string, number>()): Promise<RawRecord[]> {
  const delivered: RawRecord[] = [];
  await source.start(async (records) => {
    delivered.push(...records);
  }, durable);
  return delivered;
}

describe('file replay source', () => {
  it('delivers every record with its ordinal, ends, and times a file read to its end as one window', async () => {
    const path = files.write('whole.ndjson', `${lines(0, 12_000)}\n\n${lines(12_000, 12_001)}`);
    const source = new FileReplaySource({ path, follow: false });
    const delivered = await replay(source);
    await source.done();
    expect(source.hasEnded()).toBe(true);
    expect(delivered.map((r) => r.offset)).toEqual(Array.from({ length: 12_001 }, (_, i) => i + 1));
    expect(delivered.at(-1)?.value).toBe('{"id":12000}');
    // Every record at one instant: live and candidate replays that straddle a window boundary still align.
    expect(new Set(delivered.map((r) => r.timestamp))).toEqual(new Set([0]));
  });

  it('paces a rated replay without negative delays when handling outlasts the wait', async () => {
    const path = files.write('rated.ndjson', `${lines(0, 40)}\n`);
    const source = new FileReplaySource({ path, follow: false, ratePerSecond: 200 });
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      let delivered = 0;
      // Each flush takes longer than the 5 ms until the next record is due.
      await source.start(async (records) => {
        delivered += records.length;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }, new Map());
      await source.done();
      expect(delivered).toBe(40);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((name) => name === 'TimeoutNegativeWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('resumes after the durable position', async () => {
    const path = files.write('resume.ndjson', `${lines(0, 10)}\n`);
    const source = new FileReplaySource({ path, follow: false });
    const delivered = await replay(source, new Map([[path, 7]]));
    await source.done();
    expect(delivered.map((r) => r.value)).toEqual(['{"id":7}', '{"id":8}', '{"id":9}']);
  });

  it('follows appends, never ends, and stamps records with the time they are read', async () => {
    const path = files.write('followed.ndjson', `${lines(0, 3)}\n`);
    const source = new FileReplaySource({ path, follow: true });
    const before = Date.now();
    const delivered = await replay(source);
    await waitFor(() => delivered.length === 3, 5_000, 'the first lines');
    appendFileSync(path, `${lines(3, 5)}\n`);
    await waitFor(() => delivered.length === 5, 5_000, 'the appended lines');
    expect(source.hasEnded()).toBe(false);
    await source.stop();
    expect(delivered.map((r) => r.offset)).toEqual([1, 2, 3, 4, 5]);
    for (const record of delivered) {
      expect(record.timestamp).toBeGreaterThanOrEqual(before);
      expect(record.timestamp).toBeLessThanOrEqual(Date.now());
    }
  });

  it('looks at a followed file with nothing appended without opening it', async () => {
    const path = files.write('quiet.ndjson', `${lines(0, 2)}\n`);
    const source = new FileReplaySource({ path, follow: true });
    const delivered = await replay(source);
    await waitFor(() => delivered.length === 2, 5_000, 'the first lines');
    const opened = vi.mocked(createReadStream).mock.calls.length;
    const looked = vi.mocked(stat).mock.calls.length;
    await waitFor(() => vi.mocked(stat).mock.calls.length >= looked + 3, 10_000, 'three polls');
    expect(vi.mocked(createReadStream).mock.calls.length).toBe(opened);
    appendFileSync(path, `${lines(2, 3)}\n`);
    await waitFor(() => delivered.length === 3, 5_000, 'the appended line');
    await source.stop();
    expect(delivered.map((r) => r.offset)).toEqual([1, 2, 3]);
  });
});
