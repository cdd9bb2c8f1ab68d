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

export const Verdict = Type.Union([Type.Literal('PASS'), Type.Literal('FAIL'), Type.Literal('INCONCLUSIVE')]);

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
                classification: Type.Union([Type.Literal('Pass'), Type.Literal('Marginal'), Type.Literal('Fail')]),
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

const ComparisonState = Type.Union([
  Type.Literal('starting'),
  Type.Literal('running'),
  Type.Literal('stopping'),
  Type.Literal('stopped'),
  Type.Literal('failed'),
]);

export const ComparisonListItem = Type.Object({ id: Type.String(), state: ComparisonState, verdict: Verdict }, open);

export const ComparisonList = Type.Object({ items: Type.Array(ComparisonListItem) }, open);

const SideRuntime = Type.Object(
  {
    watermark: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'event-time watermark; null before the first record and at end of input (see endOfInput)',
    }),
    lagSeconds: Type.Union([Type.Number(), Type.Null()], {
      description: "how far this side's watermark trails live's; null when not measurable",
    }),
    consumerLag: Type.Union([Type.Number(), Type.Null()], { description: 'messages not yet consumed, when known' }),
    connected: Type.Boolean(),
    endOfInput: Type.Boolean(),
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
        error: Type.Optional(Type.String({ description: 'why the comparison failed' })),
      },
      open,
    ),
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

const NullableTime = Type.Union([Type.String(), Type.Null()]);

export const SummaryBody = Type.Object(
  {
    comparison: Type.String(),
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
  offset: Type.Integer({ minimum: 0, default: 0 }),
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
    diffSeconds: Type.Number(),
  },
  open,
);

export const WindowsBody = Type.Object(
  { total: Type.Integer(), items: Type.Array(WindowSummary, { description: 'newest first' }) },
  open,
);

export const SampleOutcome = Type.Union([
  Type.Literal('different'),
  Type.Literal('missing'),
  Type.Literal('extra'),
  Type.Literal('invalid'),
]);

const SamplesQueryShape = Type.Object({
  field: Type.Optional(Type.String({ minLength: 1, description: 'canonical field path' })),
  outcome: Type.Optional(SampleOutcome),
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
  },
  open,
);

export const SamplesBody = Type.Object({ items: Type.Array(Sample) }, open);

export const Readiness = Type.Object({ ready: Type.Boolean(), reasons: Type.Array(Type.String()) }, open);

export const Health = Type.Object({ status: Type.Literal('ok') });

/** Every answer a route can give besides its own: bad input, unknown id, internal error. */
export function withErrors<T extends Record<number, TSchema>>(responses: T) {
  return { ...responses, '4xx': ErrorBody, '5xx': ErrorBody };
}

export type ErrorBodyType = Static<typeof ErrorBody>;
export type IdParamsType = Static<typeof IdParams>;
export type WindowsQueryType = Static<typeof WindowsQueryShape>;
export type SamplesQueryType = Static<typeof SamplesQueryShape>;
export type ComparisonListItemType = Static<typeof ComparisonListItem>;
export type ComparisonDetailType = Static<typeof ComparisonDetail>;
