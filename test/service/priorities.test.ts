import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { favourMainThread } from '../../src/service/priorities.js';

/** Nice value of each thread of this process (Linux: field 19 of /proc/self/task/<tid>/stat). */
function niceness(): Map<number, number> {
  const values = new Map<number, number>();
  for (const task of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
    values.set(Number(task), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return values;
}

describe('thread priorities', () => {
  it('makes every thread but the main one nicer, and leaves the main thread as it was', async () => {
    const worker = new Worker('setInterval(() => {}, 1000)', { eval: true });
    await new Promise((resolve) => worker.once('online', resolve));
    try {
      const before = niceness();
      favourMainThread();
      const after = niceness();
      expect(after.get(process.pid)).toBe(before.get(process.pid));
      const others = [...after].filter(([tid]) => tid !== process.pid);
      expect(others.length).toBeGreaterThan(1);
      for (const [, nice] of others) expect(nice).toBe(10);
    } finally {
      await worker.terminate();
    }
  });
});
