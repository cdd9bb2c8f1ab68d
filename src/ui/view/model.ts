/**
 * What the comparison page shows, from either face: the running service's JSON API, or the data a
 * batch diff embeds in its `--html` report. The shapes are those of the API (SPEC §5).
 */
import type { VerdictFacts } from './evidence.js';

export interface Check {
  name: string;
  verdict: string;
  observed: number;
  lower: number;
  upper: number;
  tolerance: number;
}

export interface Verdict extends VerdictFacts {
  score: number;
  checks: Check[];
  evaluatedAt: string;
}

export interface Field {
  path: string;
  different: number;
  kinds: Record<string, number>;
  noise?: boolean;
}

export interface NoiseRates {
  path: string;
  candidateRate: number;
  controlRate: number;
}

export interface Summary {
  counts: Record<string, number>;
  fields: Field[];
  noise?: NoiseRates[];
  windows?: { open: number; closed: number };
}

export interface Sample {
  outcome: 'different' | 'missing' | 'extra' | 'invalid';
  key?: string;
  window?: number;
  field?: string;
  kind?: string;
  side?: string;
  reason?: string;
  live?: unknown;
  candidate?: unknown;
  raw?: string;
  position?: Record<string, string>;
  noise?: boolean;
  /** The service's id of a stored sample; a report numbers its samples itself. */
  id?: string;
  /** Of a difference: the whole records, when kept (`GET …/samples/:sampleId`, or in a report). */
  pair?: { live?: unknown; candidate?: unknown; fields: string[]; omitted?: string };
}

export interface SideState {
  watermark: string | null;
  lagSeconds: number | null;
  consumerLag: number | null;
  connected: boolean;
  endOfInput: boolean;
  error?: string;
}

export interface Detail {
  id: string;
  state: string;
  verdict: string;
  config: { verdict?: { minSamples?: number } } & Record<string, unknown>;
  runtime: {
    epoch: number;
    epochStartedAt: string;
    openWindows: number;
    closedWindows: number;
    sampleRate: number;
    sides: Record<string, SideState | undefined>;
    error?: string;
  };
}

export interface WindowItem {
  start: string;
  end: string;
  closedAt?: string;
  equal: number;
  different: number;
  missing: number;
  extra: number;
  noiseOnly?: number;
  mismatchRate: { sampled: number; mismatched: number; rate: number; lower: number; upper: number };
}

/** What a `shadowdiff diff --html` report embeds: the batch output and the policy it was judged by. */
export interface ReportData {
  generatedAt: string;
  minSamples: number;
  result: {
    comparison: string;
    counts: Record<string, number>;
    invalidReasons: Record<string, Record<string, number> | undefined>;
    fields: Field[];
    noise?: NoiseRates[];
    samples: Sample[];
    verdict: Verdict;
    /** Per window, newest first, when the comparison has an event time. */
    windows?: WindowItem[];
  };
}

/** The noise share of a field: how much of its candidate rate the control side shows as well. */
export function noiseShare(field: Field, noise: readonly NoiseRates[] | undefined): number | undefined {
  const rates = noise?.find((n) => n.path === field.path);
  if (rates === undefined || rates.candidateRate === 0) return undefined;
  return Math.min(1, rates.controlRate / rates.candidateRate);
}
