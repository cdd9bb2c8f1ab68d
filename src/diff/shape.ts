/**
 * The shape of records as DuckDB sees it: objects become STRUCTs, arrays LISTs, and every scalar a
 * JSON leaf that keeps the value's exact JSON text, so `"1"` and `1` stay different and no cast loses data.
 */
export type Shape =
  /** `text` is false when the sampled values were numbers or booleans only, which never hold a `:`. */
  { kind: 'leaf'; text: boolean } | { kind: 'object'; members: Map<string, Shape> } | { kind: 'list'; element: Shape };

export const LEAF: Shape = { kind: 'leaf', text: true };

const NON_TEXT_TYPES = new Set(['UBIGINT', 'BIGINT', 'DOUBLE', 'BOOLEAN', 'NULL']);

/**
 * Nesting the typed rows follow; below it values are JSON leaves. SQL built for deeper shapes would
 * pass DuckDB's expression depth limit, and records that deep are rare enough to compare in full.
 */
const MAX_SHAPE_DEPTH = 32;

/** Reads the output of DuckDB's `json_group_structure` into a Shape. */
export function shapeFromStructure(structure: unknown, depth = 0): Shape {
  if (depth >= MAX_SHAPE_DEPTH) return LEAF;
  if (Array.isArray(structure)) return { kind: 'list', element: shapeFromStructure(structure[0], depth + 1) };
  if (structure !== null && typeof structure === 'object') {
    const members = new Map<string, Shape>();
    const seen = new Set<string>();
    for (const [name, child] of Object.entries(structure)) {
      // DuckDB STRUCT names are case-insensitive: `Id` and `id` side by side cannot be a STRUCT.
      if (seen.has(name.toLowerCase())) return LEAF;
      seen.add(name.toLowerCase());
      members.set(name, shapeFromStructure(child, depth + 1));
    }
    return members.size === 0 ? LEAF : { kind: 'object', members };
  }
  return typeof structure === 'string' && NON_TEXT_TYPES.has(structure) ? { kind: 'leaf', text: false } : LEAF;
}

/** Ensures `path` (object members only, e.g. `customer.id`) exists in the shape as a leaf. */
export function withLeafAt(shape: Shape, segments: readonly string[]): Shape {
  const [head, ...rest] = segments;
  if (head === undefined) return LEAF;
  const members = new Map(shape.kind === 'object' ? shape.members : []);
  const child = members.get(head);
  members.set(
    head,
    rest.length === 0
      ? LEAF
      : withLeafAt(child?.kind === 'object' ? child : { kind: 'object', members: new Map() }, rest),
  );
  return { kind: 'object', members };
}

/** The structure argument of `json_transform` for a shape. */
export function transformStructure(shape: Shape): unknown {
  switch (shape.kind) {
    case 'leaf':
      return 'JSON';
    case 'list':
      return [transformStructure(shape.element)];
    case 'object':
      return Object.fromEntries([...shape.members].map(([name, child]) => [name, transformStructure(child)]));
  }
}
