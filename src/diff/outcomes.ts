import type { DifferenceKind, FieldDifference } from './compare.js';

export interface FieldStats {
  path: string;
  different: number;
  kinds: Record<DifferenceKind, number>;
}

/** Outcomes and field statistics of the aligned keys of one window, or of all windows together. */
export interface OutcomeStats {
  equal: number;
  different: number;
  missing: number;
  extra: number;
  fields: FieldStats[];
  /** Per differing row, the fields that differ; used to discount noise fields found with a control side. */
  differingRows: string[][];
}

/** Accumulates outcome and field statistics while differing pairs are compared. */
export class OutcomeTally {
  equal = 0;
  different = 0;
  missing = 0;
  extra = 0;
  readonly differingRows: string[][] = [];
  readonly #fields = new Map<string, FieldStats>();

  addDifferences(differences: readonly FieldDifference[]): string[] {
    const rowFields = new Set<string>();
    const rowKinds = new Set<string>();
    for (const difference of differences) {
      let stats = this.#fields.get(difference.path);
      if (!stats) {
        stats = { path: difference.path, different: 0, kinds: { value: 0, type: 0, missing: 0, extra: 0 } };
        this.#fields.set(difference.path, stats);
      }
      if (!rowFields.has(difference.path)) {
        rowFields.add(difference.path);
        stats.different++;
      }
      const kindKey = `${difference.path}\u0000${difference.kind}`;
      if (!rowKinds.has(kindKey)) {
        rowKinds.add(kindKey);
        stats.kinds[difference.kind]++;
      }
    }
    this.different++;
    const fields = [...rowFields];
    this.differingRows.push(fields);
    return fields;
  }

  stats(): OutcomeStats {
    return {
      equal: this.equal,
      different: this.different,
      missing: this.missing,
      extra: this.extra,
      fields: [...this.#fields.values()].sort((a, b) => b.different - a.different || a.path.localeCompare(b.path)),
      differingRows: this.differingRows,
    };
  }
}
