import { ShadowdiffError } from '../errors.js';
import type { ComparisonRegistry, ComparisonView, SideRuntime } from '../service/contracts.js';
import { redactSecrets } from './redact-config.js';
import type { ComparisonDetailType, ComparisonListItemType } from './schemas.js';

export function unknownComparison(id: string): ShadowdiffError {
  return new ShadowdiffError('SD_API_NOT_FOUND', `unknown comparison ${id}`);
}

/** The comparison named in the path, or 404. */
export function comparisonOf(registry: ComparisonRegistry, id: string): ComparisonView {
  const view = registry.get(id);
  if (view === undefined) throw unknownComparison(id);
  return view;
}

/** Milliseconds since the epoch as ISO-8601; null when unknown or unbounded (end of input). */
export function isoTime(ms: number | null): string | null {
  if (ms === null || !Number.isFinite(ms)) return null;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

export function listItem(view: ComparisonView): ComparisonListItemType {
  const { state, error } = view.runtime();
  return {
    id: view.id,
    state,
    verdict: view.verdict().verdict,
    ...(error === undefined ? {} : { error: redactSecrets(error) as string }),
  };
}

/** JSON has no Infinity or NaN; such a lag reads as unknown. */
function finiteOrNull(value: number | null): number | null {
  return value !== null && Number.isFinite(value) ? value : null;
}

function side(runtime: SideRuntime) {
  return {
    ...runtime,
    watermark: isoTime(runtime.watermark),
    lagSeconds: finiteOrNull(runtime.lagSeconds),
    consumerLag: finiteOrNull(runtime.consumerLag),
  };
}

/** Config with secrets masked, plus runtime state with watermarks as ISO strings. */
export function detail(view: ComparisonView): ComparisonDetailType {
  const { state, sides, error, ...runtime } = view.runtime();
  return {
    id: view.id,
    state,
    verdict: view.verdict().verdict,
    config: redactSecrets(view.config) as ComparisonDetailType['config'],
    runtime: {
      ...runtime,
      sides: Object.fromEntries(
        Object.entries(sides).flatMap(([name, value]) => (value === undefined ? [] : [[name, side(value)]])),
      ),
      ...(error === undefined ? {} : { error: redactSecrets(error) as string }),
    },
  };
}
