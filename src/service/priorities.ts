import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

/** How much nicer than the main thread every other thread runs (Linux nice values). */
const BACKGROUND_NICENESS = 10;

/**
 * On Linux a nice value belongs to a thread, and a task id is a pid for setpriority: every thread
 * of this process but the main one (DuckDB's workers, libuv's pool that runs DuckDB queries, V8's
 * helpers, the source threads) is made nicer, so that when the cores are busy the event loop that
 * answers gates and closes windows gets a core first. It uses a small share of the CPU, so the
 * others lose almost nothing. Elsewhere, or where the kernel refuses, threads keep their priority.
 */
export function favourMainThread(): void {
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return;
  }
  for (const task of tasks) {
    const tid = Number(task);
    if (tid === process.pid) continue;
    try {
      setPriority(tid, BACKGROUND_NICENESS);
    } catch {
      // A thread that ended meanwhile, or a sandbox that refuses: nothing to do.
    }
  }
}
