import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { ComparisonId } from '../config/schema.js';

/**
 * Request and response schemas of the HTTP API (SPEC §5). Fastify validates requests and
 * serializes responses with them, and @fastify/swagger turns them into the OpenAPI document.
 * Response objects allow additional properties so a member added to a body upstream is passed
 * through, not silently dropped by the serializer.
 */

const open = { additionalProperties: true } as const;

/**
 * One of some strings, as a JSON Schema `enum`. A union of literals would be an `anyOf`, which
 * fast-json-stringify serializes by running an Ajv validator per answer, compiled on the first:
 * a stall of a hundred milliseconds for the first gate poll.
 */
function OneOf<const T extends readonly string[]>(
  values: T,
  options: { default?: T[number]; description?: string } = {},
) {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

/** A scalar or null, as a JSON Schema type list: no `anyOf` for the serializer (see OneOf). */
function OrNull<T extends TSchema & { type: string }>(schema: T, options: { description?: string } = {}) {
  return Type.Unsafe<Static<T> | null>({ ...schema, ...options, type: [schema.type, 'null'] });
}

/**
 * A copy of a request schema where a property with a default is not required: TypeBox lists it as
 * required, but a client need not send it (Fastify's Ajv fills it in) and the document should say so.
 */
export function defaultsOptional(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(defaultsOptional);
  if (schema === null || typeof schema !== 'object') return schema;
  const copy: Record<string, unknown> = Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [key, defaultsOptional(value)]),
  );
  const properties = copy.properties as Record<string, { default?: unknown }> | undefined;
  if (Array.isArray(copy.required) && properties !== undefined) {
    const required = copy.required.filter((name: string) => properties[name]?.default === undefined);
    if (required.length > 0) copy.required = required;
    else delete copy.required;
  }
  return copy;
}

export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'error code, SD_<AREA>_<WHAT>' }),
    message: Type.String(),
  },
  { description: 'every error answer' },
);

export const IdParams = Type.Object({ id: ComparisonId });

export const Verdict = OneOf(['PASS', 'FAIL', 'INCONCLUSIVE']);

const CheckResult = Type.Object(
  {
    name: Type.String(),
    verdict: Verdict,
    observed: Type.Number(),
    lower: Type.Number(),
    upper: Type.Number(),
    tolerance: Type.Number(),
  },
  open,
);

export const VerdictBody = Type.Object(
  {
    apiVersion: Type.Literal('shadowdiff/v1'),
    comparison: Type.String(),
    verdict: Verdict,
    pass: Type.Boolean(),
    fail: Type.Boolean(),
    complete: Type.Boolean(),
    reason: Type.String(),
    scope: Type.Optional(Type.String({ description: 'the slice judged (the comparison scope), in words' })),
    score: Type.Number({ minimum: 0, maximum: 100 }),
    stats: Type.Object(
      {
        method: Type.String(),
        alpha: Type.Number(),
        tolerance: Type.Number(),
        sampled: Type.Number(),
        mismatched: Type.Number(),
        rate: Type.Number(),
        lower: Type.Number(),
        upper: Type.Number(),
      },
      open,
    ),
    checks: Type.Array(CheckResult),
    result: Type.Object(
      {
        judgeResult: Type.Object(
          {
            judgeName: Type.Literal('shadowdiff'),
            score: Type.Object(
              {
                score: Type.Number(),
                classification: OneOf(['Pass', 'Marginal', 'Fail']),
              },
              open,
            ),
          },
          open,
        ),
      },
      open,
    ),
    evaluatedAt: Type.String({ format: 'date-time' }),
  },
  { ...open, description: 'verdict body (SPEC §4)' },
);

const ComparisonState = OneOf(['starting', 'connecting', 'running', 'stopping', 'stopped', 'failed']);

const StateError = Type.Optional(
  Type.String({ description: 'why the comparison failed, or (connecting) why a source has not connected yet' }),
);

export const ComparisonListItem = Type.Object(
  { id: Type.String(), state: ComparisonState, verdict: Verdict, error: StateError },
  open,
);

export const ComparisonList = Type.Object({ items: Type.Array(ComparisonListItem) }, open);

const SideRuntime = Type.Object(
  {
    watermark: OrNull(Type.String({ format: 'date-time' }), {
      description: 'event-time watermark; null before the first record and at end of input (see endOfInput)',
    }),
    lagSeconds: OrNull(Type.Number(), {
      description: "how far this side's watermark trails live's; null when not measurable",
    }),
    consumerLag: OrNull(Type.Number(), { description: 'messages not yet consumed, when known' }),
    connected: Type.Boolean(),
    endOfInput: Type.Boolean(),
    error: Type.Optional(Type.String({ description: 'why the source is not connected while it keeps trying' })),
  },
  open,
);

export const ComparisonDetail = Type.Object(
  {
    id: Type.String(),
    state: ComparisonState,
    verdict: Verdict,
    config: Type.Object(
      {},
      { ...open, description: 'the comparison config (POST /v1/comparisons body) with secrets shown as ***' },
    ),
    runtime: Type.Object(
      {
        epoch: Type.Integer(),
        epochStartedAt: Type.String({ format: 'date-time' }),
        openWindows: Type.Integer(),
        closedWindows: Type.Integer(),
        sampleRate: Type.Number(),
        sides: Type.Object(
          {
            live: Type.Optional(SideRuntime),
            candidate: Type.Optional(SideRuntime),
            control: Type.Optional(SideRuntime),
          },
          open,
        ),
        error: StateError,
      },
      open,
    ),
  },
  open,
);

export const ScopeChangeBody = Type.Object(
  {
    comparison: Type.String(),
    changed: Type.Boolean({ description: 'false when the scope was the same: no new epoch' }),
    epoch: Type.Integer({ description: 'the epoch the new scope is judged in' }),
    epochStartedAt: Type.String({ format: 'date-time' }),
    scope: Type.Optional(Type.String({ description: 'the slice judged now, in words; absent without a scope' })),
  },
  open,
);

const Counts = Type.Record(Type.String(), Type.Number(), {
  description: 'outcome and record counts, as in batch output',
});

const FieldStats = Type.Object(
  {
    path: Type.String(),
    different: Type.Number(),
    kinds: Type.Record(Type.String(), Type.Number()),
    noise: Type.Optional(Type.Boolean()),
  },
  open,
);

const NullableTime = OrNull(Type.String());

export const SummaryBody = Type.Object(
  {
    comparison: Type.String(),
    scope: Type.Optional(Type.String({ description: 'the slice judged (the comparison scope), in words' })),
    counts: Counts,
    fields: Type.Array(FieldStats),
    noise: Type.Optional(
      Type.Array(Type.Object({ path: Type.String(), candidateRate: Type.Number(), controlRate: Type.Number() }, open)),
    ),
    windows: Type.Object({ open: Type.Integer(), closed: Type.Integer() }, open),
    watermarks: Type.Object(
      {
        live: Type.Optional(NullableTime),
        candidate: Type.Optional(NullableTime),
        control: Type.Optional(NullableTime),
      },
      open,
    ),
  },
  open,
);

const WindowsQueryShape = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }),
  // Beyond 2^53 an offset is no longer exact; query integers must be safe (query-integers.ts).
  offset: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 }),
});
export const WindowsQuery = defaultsOptional(WindowsQueryShape);

const WindowSummary = Type.Object(
  {
    start: Type.String(),
    end: Type.String(),
    closedAt: Type.String(),
    equal: Type.Integer(),
    different: Type.Integer(),
    missing: Type.Integer(),
    extra: Type.Integer(),
    noiseOnly: Type.Optional(
      Type.Integer({ description: 'with a control side: records that differ only in noise fields, counted in equal' }),
    ),
    diffSeconds: Type.Number(),
    mismatchRate: Type.Object(
      {
        sampled: Type.Integer(),
        mismatched: Type.Integer(),
        rate: Type.Number(),
        lower: Type.Number(),
        upper: Type.Number(),
      },
      {
        ...open,
        description:
          "the verdict's mismatch-rate check over this window and every earlier one of the epoch: its confidence band over time",
      },
    ),
  },
  open,
);

export const WindowsBody = Type.Object(
  { total: Type.Integer(), items: Type.Array(WindowSummary, { description: 'newest first' }) },
  open,
);

export const SampleOutcome = OneOf(['different', 'missing', 'extra', 'invalid']);

const SamplesQueryShape = Type.Object({
  field: Type.Optional(Type.String({ minLength: 1, description: 'canonical field path' })),
  outcome: Type.Optional(SampleOutcome),
  noise: OneOf(['include', 'exclude', 'only'], {
    default: 'include',
    description:
      'differences in noise fields: after the real differences (include), left out (exclude), or alone (only)',
  }),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 20 }),
});
export const SamplesQuery = defaultsOptional(SamplesQueryShape);

const Sample = Type.Object(
  {
    outcome: SampleOutcome,
    key: Type.Optional(Type.String()),
    window: Type.Optional(Type.Number()),
    field: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    side: Type.Optional(Type.String()),
    reason: Type.Optional(Type.String()),
    live: Type.Optional(Type.Unknown()),
    candidate: Type.Optional(Type.Unknown()),
    raw: Type.Optional(Type.String()),
    position: Type.Optional(Type.Record(Type.String(), Type.String())),
    noise: Type.Optional(Type.Boolean({ description: 'a difference in a field the control side shows to be noise' })),
    id: Type.Optional(Type.String({ description: 'for GET …/samples/:sampleId' })),
    pair: Type.Optional(
      Type.Object(
        {
          live: Type.Optional(Type.Unknown()),
          candidate: Type.Optional(Type.Unknown()),
          fields: Type.Array(Type.String(), { description: 'every field path in which the two records differ' }),
          omitted: Type.Optional(Type.String({ description: 'why the records were not kept (too long)' })),
        },
        { ...open, description: 'of a difference: the whole records, redacted; only from GET …/samples/:sampleId' },
      ),
    ),
  },
  open,
);

export const SampleParams = Type.Object({
  id: ComparisonId,
  sampleId: Type.String({ minLength: 1, maxLength: 64, description: "a sample's id from GET …/samples" }),
});

export const SampleBody = Sample;

export const SamplesBody = Type.Object({ items: Type.Array(Sample) }, open);

export const Readiness = Type.Object({ ready: Type.Boolean(), reasons: Type.Array(Type.String()) }, open);

export const Health = Type.Object({ status: Type.Literal('ok') });

/** Every answer a route can give besides its own: bad input, unknown id, internal error. */
export function withErrors<T extends Record<number, TSchema>>(responses: T) {
  return { ...responses, '4xx': ErrorBody, '5xx': ErrorBody };
}

export type ErrorBodyType = Static<typeof ErrorBody>;
export type IdParamsType = Static<typeof IdParams>;
export type SampleParamsType = Static<typeof SampleParams>;
export type WindowsQueryType = Static<typeof WindowsQueryShape>;
export type SamplesQueryType = Static<typeof SamplesQueryShape>;
export type ComparisonListItemType = Static<typeof ComparisonListItem>;
export type ComparisonDetailType = Static<typeof ComparisonDetail>;
