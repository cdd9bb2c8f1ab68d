/**
 * Live and candidate NDJSON streams over several event-time windows, with known differences:
 * changed amounts, records the candidate lost or added, duplicates and undecodable lines.
 */
export interface StreamTruth {
  live: string[];
  candidate: string[];
  expected: {
    equal: number;
    different: number;
    missing: number;
    extra: number;
    invalidLive: number;
    invalidCandidate: number;
    duplicateCandidate: number;
    windows: number;
  };
}

export const STREAM_START = Date.UTC(2026, 0, 1, 12, 0, 0);

export function streamTruth(count = 3000, stepMs = 100): StreamTruth {
  const live: string[] = [];
  const candidate: string[] = [];
  let different = 0;
  let missing = 0;
  let extra = 0;
  for (let i = 0; i < count; i++) {
    const record = {
      id: `r-${i}`,
      t: new Date(STREAM_START + i * stepMs).toISOString(),
      amount: i,
      tags: ['x', `y${i % 3}`],
    };
    live.push(JSON.stringify(record));
    if (i % 150 === 3) {
      missing++;
      continue;
    }
    if (i % 50 === 0) {
      candidate.push(JSON.stringify({ ...record, amount: i + 1 }));
      different++;
    } else {
      candidate.push(JSON.stringify(record));
    }
    if (i % 300 === 7) {
      candidate.push(JSON.stringify({ id: `new-${i}`, t: record.t, amount: 0 }));
      extra++;
    }
    if (i % 500 === 11) candidate.push(JSON.stringify(record));
    if (i % 700 === 13) live.push('{"id": "broken"');
  }
  candidate.push('not json', JSON.stringify({ t: new Date(STREAM_START).toISOString() }));
  const invalidLive = live.filter((line) => line.startsWith('{"id": "broken"')).length;
  const duplicateCandidate = Array.from({ length: count }, (_, i) => i).filter((i) => i % 500 === 11).length;
  return {
    live,
    candidate,
    expected: {
      equal: count - different - missing,
      different,
      missing,
      extra,
      invalidLive,
      invalidCandidate: 2,
      duplicateCandidate,
      windows: Math.ceil((count * stepMs) / 60_000),
    },
  };
}

/** The summary counts a correct service reports once every window of `truth` is closed. */
export function finalCounts(truth: StreamTruth): Record<string, number> {
  const { expected } = truth;
  return {
    live: truth.live.length - expected.invalidLive,
    candidate: truth.candidate.length - expected.invalidCandidate,
    equal: expected.equal,
    different: expected.different,
    missing: expected.missing,
    extra: expected.extra,
    invalidLive: expected.invalidLive,
    invalidCandidate: expected.invalidCandidate,
    duplicateCandidate: expected.duplicateCandidate,
    lateLive: 0,
    lateCandidate: 0,
    pendingLive: 0,
    pendingCandidate: 0,
  };
}

/** A comparison of two NDJSON files of `streamTruth` records (key `id`, time `t`, one-minute windows), as a config entry. */
export function truthComparison(id: string, live: string, candidate: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    live: { file: { path: live } },
    candidate: { file: { path: candidate } },
    key: ['id'],
    time: { field: 't' },
    window: { size: '1m', allowedLateness: '5s', idleTimeout: '1m' },
    verdict: { tolerance: 0.001, minSamples: 100 },
    ...extra,
  };
}
