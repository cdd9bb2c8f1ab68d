import { createRequire } from 'node:module';

interface RequestQueue {
  pending: unknown[];
  scheduleCheckPendingRequests(): void;
}

/**
 * kafkajs 2.2.4, its last release, schedules a check of queued requests after every response, at
 * `throttledUntil - Date.now()`. Unthrottled (`throttledUntil` is -1) that is minus the time since
 * the epoch: Node 24 warns (TimeoutNegativeWarning) and runs it after 1 ms, and the check schedules
 * itself again, a 1 ms loop per broker connection for as long as it is open (tulios/kafkajs#1704,
 * #1751). With no request queued there is nothing to check: a request queued later schedules its
 * own check. The queue is internal to kafkajs, so it is reached through kafkajs' own module.
 */
export function patchKafkajsRequestQueue(): void {
  const require = createRequire(import.meta.url);
  const { prototype } = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueue };
  const schedule = prototype.scheduleCheckPendingRequests;
  if ((schedule as { patched?: boolean }).patched) return;
  const patched = function (this: RequestQueue) {
    if (this.pending.length > 0) schedule.call(this);
  };
  prototype.scheduleCheckPendingRequests = Object.assign(patched, { patched: true });
}
