import type { ComparisonConfig, ScopeConfig } from '../../src/config/schema.js';
import type { DiffSample, SampleOutcome } from '../../src/diff/samples.js';
import { ShadowdiffError } from '../../src/errors.js';
import type {
  ComparisonRegistry,
  ComparisonRuntime,
  ComparisonView,
  NoiseFilter,
  Readiness,
  Summary,
  WindowSummary,
} from '../../src/service/contracts.js';
import { evaluateVerdict, type Verdict, type VerdictBody } from '../../src/verdict/verdict.js';

export const NOW = new Date('2024-05-01T12:00:00.000Z');

/** Real verdict bodies from the verdict engine, one per verdict. */
export function verdictBody(comparison: string, verdict: Verdict): VerdictBody {
  const counts = {
    PASS: { equal: 20_000, different: 0, missing: 0, extra: 0 },
    FAIL: { equal: 1000, different: 1000, missing: 0, extra: 0 },
    INCONCLUSIVE: { equal: 0, different: 0, missing: 0, extra: 0 },
  }[verdict];
  const body = evaluateVerdict({
    comparison,
    policy: { tolerance: 0.01, alpha: 0.05, minSamples: 100, fields: {}, maxLagSeconds: 300 },
    counts,
    fieldDifferences: { amount: counts.different },
    complete: false,
    now: NOW,
  });
  if (body.verdict !== verdict) throw new Error(`fixture gave ${body.verdict}, wanted ${verdict}`);
  return body;
}

export function runtime(): ComparisonRuntime {
  return {
    state: 'running',
    epoch: 2,
    epochStartedAt: '2024-05-01T11:00:00.000Z',
    openWindows: 3,
    closedWindows: 57,
    sampleRate: 0.5,
    sides: {
      live: {
        watermark: Date.parse('2024-05-01T11:59:00.000Z'),
        lagSeconds: 0,
        consumerLag: 12,
        connected: true,
        endOfInput: false,
      },
      candidate: { watermark: null, lagSeconds: 90, consumerLag: null, connected: false, endOfInput: false },
      control: {
        watermark: Number.POSITIVE_INFINITY,
        lagSeconds: 0,
        consumerLag: 0,
        connected: true,
        endOfInput: true,
      },
    },
  };
}

export const WINDOWS: WindowSummary[] = Array.from({ length: 75 }, (_, i) => {
  const start = Date.parse('2024-05-01T11:00:00.000Z') + (74 - i) * 60_000;
  return {
    start: new Date(start).toISOString(),
    end: new Date(start + 60_000).toISOString(),
    closedAt: new Date(start + 90_000).toISOString(),
    equal: 100 + i,
    different: i % 3,
    missing: 0,
    extra: 1,
    diffSeconds: 0.25,
    mismatchRate: { sampled: 100, mismatched: 1, rate: 0.01, lower: 0, upper: 0.2 },
  };
});

export const SAMPLES: DiffSample[] = [
  {
    outcome: 'different',
    key: '["k1"]',
    field: 'amount',
    kind: 'value',
    live: 10,
    candidate: 11,
    window: 1714561200000,
    id: 's-amount',
    pair: { live: { id: 'k1', amount: 10 }, candidate: { id: 'k1', amount: 11 }, fields: ['amount'] },
  },
  { outcome: 'different', key: '["k2"]', field: 'status', kind: 'type', live: 'open', candidate: 1 },
  { outcome: 'missing', key: '["k3"]', live: { id: 'k3', amount: 5 }, position: { live: 'orders/0@42' } },
  { outcome: 'invalid', side: 'candidate', reason: 'not JSON', raw: '{"id":' },
];

/** A comparison whose answers the test sets; records what the API asked of it. */
export class FakeComparison implements ComparisonView {
  readonly id: string;
  readonly config: ComparisonConfig;
  current: Verdict = 'INCONCLUSIVE';
  state: ComparisonRuntime = runtime();
  resets = 0;
  lastWindowsPage: { limit: number; offset: number } | undefined;
  lastSamplesFilter: { field?: string; outcome?: SampleOutcome; noise?: NoiseFilter; limit: number } | undefined;
  failSummary: Error | undefined;

  constructor(config: ComparisonConfig) {
    this.id = config.id;
    this.config = config;
  }

  runtime(): ComparisonRuntime {
    return this.state;
  }

  verdict(): VerdictBody {
    return verdictBody(this.id, this.current);
  }

  async summary(): Promise<Summary> {
    if (this.failSummary) throw this.failSummary;
    return {
      comparison: this.id,
      counts: {
        live: 1000,
        candidate: 998,
        equal: 990,
        different: 5,
        missing: 3,
        extra: 1,
        duplicateLive: 0,
        duplicateCandidate: 2,
        invalidLive: 0,
        invalidCandidate: 1,
        sampledOutLive: 0,
        sampledOutCandidate: 0,
      },
      fields: [{ path: 'amount', different: 5, kinds: { value: 4, type: 1, missing: 0, extra: 0 } }],
      windows: { open: 3, closed: 57 },
      watermarks: { live: '2024-05-01T11:59:00.000Z', candidate: null },
    };
  }

  async windows(page: { limit: number; offset: number }): Promise<{ total: number; items: WindowSummary[] }> {
    this.lastWindowsPage = page;
    return { total: WINDOWS.length, items: WINDOWS.slice(page.offset, page.offset + page.limit) };
  }

  async samples(filter: {
    field?: string;
    outcome?: SampleOutcome;
    noise?: NoiseFilter;
    limit: number;
  }): Promise<DiffSample[]> {
    this.lastSamplesFilter = filter;
    return SAMPLES.filter(
      (s) =>
        (filter.field === undefined || s.field === filter.field) &&
        (filter.outcome === undefined || s.outcome === filter.outcome),
    ).slice(0, filter.limit);
  }

  async sample(id: string): Promise<DiffSample | undefined> {
    return SAMPLES.find((s) => s.id === id);
  }

  async reset(): Promise<void> {
    this.resets += 1;
    this.current = 'INCONCLUSIVE';
  }
}

export class FakeRegistry implements ComparisonRegistry {
  readonly comparisons = new Map<string, FakeComparison>();
  ready: Readiness = { ready: true, reasons: [] };
  created: ComparisonConfig[] = [];
  /** The bodies of scope changes, as validated. */
  scopes: (ScopeConfig | null)[] = [];

  add(config: ComparisonConfig): FakeComparison {
    const view = new FakeComparison(config);
    this.comparisons.set(view.id, view);
    return view;
  }

  list(): ComparisonView[] {
    return [...this.comparisons.values()];
  }

  get(id: string): FakeComparison | undefined {
    return this.comparisons.get(id);
  }

  async create(config: ComparisonConfig): Promise<ComparisonView> {
    if (this.comparisons.has(config.id)) {
      throw new ShadowdiffError('SD_API_CONFLICT', `comparison ${config.id} exists`);
    }
    this.created.push(config);
    return this.add(config);
  }

  /** A changed scope gives a new view in the next epoch, as the service's new runner. */
  async changeScope(id: string, scope: ScopeConfig | null): Promise<ComparisonView | undefined> {
    const view = this.comparisons.get(id);
    if (!view) return undefined;
    this.scopes.push(scope);
    const { scope: _old, ...rest } = view.config;
    const next = this.add(scope === null ? rest : { ...rest, scope });
    next.state = { ...view.state, epoch: view.state.epoch + 1 };
    return next;
  }

  async delete(id: string): Promise<boolean> {
    return this.comparisons.delete(id);
  }

  readiness(): Readiness {
    return this.ready;
  }
}
