import { type Static, Type } from '@sinclair/typebox';
import { DURATION_PATTERN } from './duration.js';

const Duration = (description: string, defaultValue?: string) =>
  Type.String({ pattern: DURATION_PATTERN, description, ...(defaultValue ? { default: defaultValue } : {}) });

/** Kafka's own rule for topic names ('.' and '..' are refused apart). */
const KAFKA_TOPIC_PATTERN = '^[a-zA-Z0-9._-]{1,249}$';

export const ComparisonId = Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$', description: 'comparison id' });

export const KafkaSourceSchema = Type.Object(
  {
    topic: Type.String({ minLength: 1 }),
    groupId: Type.Optional(Type.String({ minLength: 1 })),
    fromBeginning: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);

export const FileSourceSchema = Type.Object(
  {
    path: Type.String({ minLength: 1 }),
    format: Type.Optional(
      Type.Union([Type.Literal('json'), Type.Literal('csv'), Type.Literal('parquet'), Type.Literal('avro')]),
    ),
    follow: Type.Boolean({ default: false }),
    ratePerSecond: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  },
  { additionalProperties: false },
);

export const PostgresSourceSchema = Type.Object(
  {
    url: Type.String({
      pattern: '^postgres(ql)?://',
      description: 'postgres://user@host:port/db, optionally ?table=schema.table; no password in it',
    }),
    table: Type.Optional(Type.String({ minLength: 1, description: 'schema.table to read' })),
    sql: Type.Optional(Type.String({ minLength: 1, description: 'a query whose rows are the records' })),
    passwordEnv: Type.String({
      pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
      default: 'PGPASSWORD',
      description: 'the environment variable holding the password',
    }),
  },
  { additionalProperties: false },
);

export const SimulateSourceSchema = Type.Object(
  {
    ratePerSecond: Type.Number({ exclusiveMinimum: 0, default: 200 }),
    keySpace: Type.Integer({ minimum: 1, default: 100_000 }),
    seed: Type.Integer({ default: 1 }),
    /** Fraction of records whose `amount` differs from live's (candidate only). */
    differenceRate: Type.Number({ minimum: 0, maximum: 1, default: 0 }),
    /** Fraction of live records the candidate drops. */
    missingRate: Type.Number({ minimum: 0, maximum: 1, default: 0 }),
    /** Fields whose value is regenerated on every run, as nondeterministic pipelines do. */
    noisyFields: Type.Array(Type.String(), { default: [] }),
  },
  { additionalProperties: false },
);

export const SourceSchema = Type.Union(
  [
    Type.Object({ kafka: KafkaSourceSchema }, { additionalProperties: false }),
    Type.Object({ file: FileSourceSchema }, { additionalProperties: false }),
    Type.Object({ simulate: SimulateSourceSchema }, { additionalProperties: false }),
    Type.Object({ postgres: PostgresSourceSchema }, { additionalProperties: false }),
  ],
  { description: 'one of {kafka: ...}, {file: ...}, {simulate: ...}, {postgres: ...} (batch diff only)' },
);

const NumericTolerance = Type.Object(
  { abs: Type.Number({ minimum: 0, default: 0 }), rel: Type.Number({ minimum: 0, default: 0 }) },
  { additionalProperties: false },
);

export const CompareSchema = Type.Object(
  {
    ignore: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    numeric: Type.Object(
      {
        abs: Type.Number({ minimum: 0, default: 0 }),
        rel: Type.Number({ minimum: 0, default: 0 }),
        fields: Type.Record(Type.String(), Type.Partial(NumericTolerance), { default: {} }),
      },
      { additionalProperties: false, default: {} },
    ),
    unorderedArrays: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    nullEqualsMissing: Type.Boolean({ default: true }),
    timestamps: Type.Object(
      {
        paths: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
        toleranceMs: Type.Number({ minimum: 0, default: 0 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

export const TimeSchema = Type.Union([
  Type.Object(
    {
      field: Type.String({ minLength: 1 }),
      unit: Type.Union([Type.Literal('ms'), Type.Literal('s'), Type.Literal('us')], { default: 'ms' }),
    },
    { additionalProperties: false },
  ),
  Type.Object({ source: Type.Literal('kafka') }, { additionalProperties: false }),
]);

export const VerdictPolicySchema = Type.Object(
  {
    tolerance: Type.Number({ minimum: 0, maximum: 1, default: 0.001 }),
    alpha: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.05 }),
    minSamples: Type.Integer({ minimum: 0, default: 1000 }),
    missing: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    extra: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    fields: Type.Record(Type.String(), Type.Number({ minimum: 0, maximum: 1 }), { default: {} }),
    maxLagSeconds: Type.Number({ minimum: 0, default: 300 }),
  },
  { additionalProperties: false, default: {} },
);

const ScopeValue = Type.Union([Type.String(), Type.Number(), Type.Boolean()], {
  description: 'a string, a number or true/false',
});
const PartitionList = Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, uniqueItems: true });

/**
 * The slice of the data a comparison judges (a canary's slice): structured only, never SQL text
 * (a DuckDB expression can read files). Every condition given must hold.
 */
export const ScopeSchema = Type.Object(
  {
    partitions: Type.Optional(
      Type.Union(
        [
          PartitionList,
          Type.Object(
            { live: PartitionList, candidate: PartitionList, control: Type.Optional(PartitionList) },
            { additionalProperties: false },
          ),
        ],
        { description: 'a list of Kafka partitions, or one per side ({live: [...], candidate: [...]})' },
      ),
    ),
    field: Type.Optional(Type.String({ minLength: 1, description: 'the field (path) whose value selects records' })),
    in: Type.Optional(Type.Array(ScopeValue, { minItems: 1 })),
    notIn: Type.Optional(Type.Array(ScopeValue, { minItems: 1 })),
    keyRange: Type.Optional(
      Type.Tuple([Type.Number({ minimum: 0, maximum: 1 }), Type.Number({ minimum: 0, maximum: 1 })], {
        description: '[from, to): a fraction of the key hash space, the hash sampling uses',
      }),
    ),
    candidateOnly: Type.Boolean({
      default: false,
      description: 'the candidate runs on this slice only: its records outside it count as unexpected',
    }),
  },
  { additionalProperties: false },
);

export const ComparisonSchema = Type.Object(
  {
    id: ComparisonId,
    live: SourceSchema,
    candidate: SourceSchema,
    control: Type.Optional(SourceSchema),
    format: Type.Union(
      [
        Type.Literal('json'),
        Type.Literal('avro'),
        Type.Literal('avro-schema'),
        Type.Literal('csv'),
        Type.Literal('parquet'),
      ],
      { default: 'json' },
    ),
    schema: Type.Optional(Type.String({ minLength: 1, description: 'path of the .avsc for format avro-schema' })),
    key: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
    keyAsText: Type.Boolean({
      default: false,
      description: 'compare keys as text: the string "12" and the number 12 are one key (numbers by value either way)',
    }),
    time: Type.Optional(TimeSchema),
    window: Type.Object(
      {
        size: Duration('tumbling window size', '1m'),
        allowedLateness: Duration('how long a window waits for late records', '30s'),
        idleTimeout: Duration('after this a silent partition stops holding the watermark', '2m'),
      },
      { additionalProperties: false, default: {} },
    ),
    sampling: Type.Object(
      {
        rate: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 1 }),
        adaptive: Type.Boolean({ default: false }),
      },
      { additionalProperties: false, default: {} },
    ),
    duplicates: Type.Union([Type.Literal('last'), Type.Literal('first'), Type.Literal('error')], { default: 'last' }),
    scope: Type.Optional(ScopeSchema),
    csv: Type.Object(
      {
        emptyQuotedIsString: Type.Boolean({
          default: false,
          description: 'CSV files: "" is an empty string and only an empty unquoted field is null (PostgreSQL COPY)',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    compare: CompareSchema,
    redact: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: 'field paths whose values samples mask; "*" masks every value (a lone "*" needs no list)',
    }),
    verdict: VerdictPolicySchema,
    maxMessageBytes: Type.Integer({ minimum: 1, default: 1_048_576 }),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    server: Type.Object(
      {
        host: Type.String({ default: '0.0.0.0' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
        adminToken: Type.String({ default: '' }),
        /** When set, answers holding record content (samples, dead letters) need it or the admin token. */
        readToken: Type.String({ default: '' }),
      },
      { additionalProperties: false, default: {} },
    ),
    storage: Type.Object(
      {
        path: Type.String({ minLength: 1, default: './data/shadowdiff.duckdb' }),
        memoryLimit: Type.String({ pattern: '^\\d+(\\.\\d+)?\\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$', default: '1GB' }),
        threads: Type.Optional(
          Type.Integer({
            minimum: 1,
            description: "DuckDB's threads; by default one fewer than the cores, at least one",
          }),
        ),
        retention: Duration(
          'how long closed-window results are kept; buffers of windows that ended this long before the latest event time expire as late',
          '7d',
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    kafka: Type.Object(
      {
        brokers: Type.Array(Type.String({ minLength: 1 }), { default: ['localhost:9092'] }),
        clientId: Type.String({ default: 'shadowdiff' }),
        ssl: Type.Boolean({ default: false }),
        sasl: Type.Union(
          [
            Type.Null(),
            Type.Object(
              {
                mechanism: Type.Union([
                  Type.Literal('plain'),
                  Type.Literal('scram-sha-256'),
                  Type.Literal('scram-sha-512'),
                ]),
                username: Type.String(),
                password: Type.String(),
              },
              { additionalProperties: false },
            ),
          ],
          { default: null },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    schemaRegistry: Type.Object(
      { url: Type.String({ default: 'http://localhost:8081' }) },
      { additionalProperties: false, default: {} },
    ),
    metrics: Type.Object(
      { maxFieldLabels: Type.Integer({ minimum: 1, default: 50 }) },
      { additionalProperties: false, default: {} },
    ),
    cluster: Type.Object(
      {
        enabled: Type.Boolean({
          default: false,
          description: 'instances with the same settings share each Kafka comparison (docs/SCALING.md)',
        }),
        resultsTopic: Type.String({
          pattern: KAFKA_TOPIC_PATTERN,
          default: 'shadowdiff.results',
          description: 'the compacted topic of per-partition results',
        }),
        instanceId: Type.Optional(
          Type.String({
            pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$',
            description: 'a stable name of this instance, by default the host name (a pod name)',
          }),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    comparisons: Type.Array(ComparisonSchema, { default: [] }),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type ClusterConfig = Config['cluster'];
export type ComparisonConfig = Static<typeof ComparisonSchema>;
export type SourceConfig = Static<typeof SourceSchema>;
export type CompareConfig = Static<typeof CompareSchema>;
export type VerdictPolicy = Static<typeof VerdictPolicySchema>;
export type TimeConfig = Static<typeof TimeSchema>;
export type ScopeConfig = Static<typeof ScopeSchema>;
export type SimulateSourceConfig = Static<typeof SimulateSourceSchema>;
export type Side = 'live' | 'candidate' | 'control';
export const SIDES: readonly Side[] = ['live', 'candidate', 'control'];
