/** The `field` label value that stands for every field without a label of its own. */
export const OTHER_FIELD = '__other__';

/**
 * Which `field` label each canonical field path of one comparison is exported under, so the
 * series count stays bounded by `maxFieldLabels` (SPEC §6).
 *
 * A field's label is decided the first time the field is seen and never changes afterwards.
 * Counters must stay monotonic per series: if a field could later win a slot (or lose one), its
 * past counts would sit under one label and its new counts under another, and `rate()` over
 * either would lie. So "top fields" is decided by arrival: while free slots remain, the new fields
 * of a batch take them in order of that batch's count (highest first, then by path, so the choice
 * is deterministic); once the slots are gone every new field folds into `__other__`. Windows close
 * in event-time order, so the first batches decide, and a field that starts differing late shows up
 * under `__other__` on the dashboard and by name in the summary API.
 */
export class FieldLabels {
  readonly #max: number;
  readonly #labels = new Map<string, string>();
  #own = 0;

  constructor(maxFieldLabels: number) {
    this.#max = maxFieldLabels;
  }

  /** The label of every field in `counts`, deciding labels for fields not seen before. */
  assign(counts: ReadonlyMap<string, number>): Map<string, string> {
    const fresh = [...counts]
      .filter(([field]) => !this.#labels.has(field))
      .sort(([a, countA], [b, countB]) => countB - countA || (a < b ? -1 : a > b ? 1 : 0));
    for (const [field] of fresh) {
      if (this.#own < this.#max) {
        this.#labels.set(field, field);
        this.#own += 1;
      } else {
        this.#labels.set(field, OTHER_FIELD);
      }
    }
    return new Map([...counts.keys()].map((field) => [field, this.#labels.get(field) as string]));
  }

  /** Every label value handed out so far. */
  values(): Set<string> {
    return new Set(this.#labels.values());
  }
}
