import type { Type } from 'avsc';
import { ShadowdiffError } from '../errors.js';
import { parseAvroType } from './avro-type.js';
import { DecodeError, isDecodeError } from './decode-error.js';

/** What the Confluent decoder needs; the client below is the real one, tests may fake it. */
export interface SchemaSource {
  getSchema(id: number): Promise<Type>;
}

export interface SchemaRegistryOptions {
  /** Base URL; `https://user:pass@host` sends HTTP basic auth. */
  url: string;
  fetch?: typeof fetch;
  /** How long an unknown id (404) is remembered; it may be registered later. Default 10 s. */
  unknownIdTtlMs?: number;
  /** Per request. Default 10 s. */
  timeoutMs?: number;
  now?: () => number;
}

/** Subject and version of a schema whose named types another schema uses. */
interface SchemaReference {
  subject: string;
  version: number;
}

interface SchemaAnswer {
  schema: string;
  schemaType?: string;
  references?: SchemaReference[];
}

// Past this many remembered unknown ids, expired ones are dropped: garbage messages can carry
// any id, and the map must not grow with them.
const UNKNOWN_IDS_SWEEP = 1000;

/**
 * Confluent Schema Registry client: `GET /schemas/ids/{id}`, parsed with parseAvroType.
 *
 * Answers that cannot change (a schema, or a schema we cannot use) are cached for good, and
 * concurrent lookups of one id share one request. Failures:
 * - 404 → DecodeError `unknown_schema` (the record is invalid), remembered `unknownIdTtlMs`;
 * - a non-Avro or unparsable schema → DecodeError `unknown_schema`, cached;
 * - network errors, timeouts, 408/429/5xx → ShadowdiffError SD_REGISTRY_UNAVAILABLE, canRetry;
 * - any other status (401, 403, ...) → SD_REGISTRY_UNAVAILABLE without canRetry.
 * Messages name the registry by its URL without credentials.
 */
export class SchemaRegistryClient implements SchemaSource {
  /** The registry URL with any credentials removed: safe to log. */
  readonly url: string;
  readonly #authorization: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #unknownIdTtlMs: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #schemas = new Map<number, Promise<Type>>();
  readonly #unknownUntil = new Map<number, number>();

  constructor(options: SchemaRegistryOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      // The URL may hold a password: it is not repeated here.
      throw new ShadowdiffError('SD_CONFIG_INVALID', 'schemaRegistry.url is not a valid URL');
    }
    if (parsed.username || parsed.password) {
      const user = decodeURIComponent(parsed.username);
      const password = decodeURIComponent(parsed.password);
      this.#authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      parsed.username = '';
      parsed.password = '';
    }
    this.url = parsed.toString().replace(/\/+$/, '');
    this.#fetch = options.fetch ?? fetch;
    this.#unknownIdTtlMs = options.unknownIdTtlMs ?? 10_000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  getSchema(id: number): Promise<Type> {
    const known = this.#schemas.get(id);
    if (known) return known;
    const until = this.#unknownUntil.get(id);
    if (until !== undefined && this.#now() < until) return Promise.reject(this.#unknownId(id));
    this.#unknownUntil.delete(id);
    const pending = this.#load(id);
    this.#schemas.set(id, pending);
    pending.catch((error: unknown) => {
      const final = isDecodeError(error) && !this.#unknownUntil.has(id);
      if (!final) this.#schemas.delete(id);
    });
    return pending;
  }

  async #load(id: number): Promise<Type> {
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw this.#unknownId(id);
    const answer = await this.#get(`/schemas/ids/${id}`, id);
    const references = await this.#resolveReferences(answer, id, new Set());
    try {
      return parseAvroType(JSON.parse(answer.schema), references);
    } catch (error) {
      throw new DecodeError(
        'unknown_schema',
        `schema id ${id} is not a valid Avro schema: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  /** Referenced schemas, dependencies first, parsed JSON. */
  async #resolveReferences(answer: SchemaAnswer, id: number, seen: Set<string>): Promise<unknown[]> {
    const schemas: unknown[] = [];
    for (const { subject, version } of answer.references ?? []) {
      const key = `${subject}/${version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const referenced = await this.#get(`/subjects/${encodeURIComponent(subject)}/versions/${version}`, id);
      schemas.push(...(await this.#resolveReferences(referenced, id, seen)));
      try {
        schemas.push(JSON.parse(referenced.schema));
      } catch (error) {
        throw new DecodeError('unknown_schema', `schema id ${id}: reference ${key} is not JSON`, { cause: error });
      }
    }
    return schemas;
  }

  async #get(path: string, id: number): Promise<SchemaAnswer> {
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(`${this.url}${path}`, {
        headers: {
          accept: 'application/vnd.schemaregistry.v1+json, application/json',
          ...(this.#authorization ? { authorization: this.#authorization } : {}),
        },
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw new ShadowdiffError(
        'SD_REGISTRY_UNAVAILABLE',
        `schema registry ${this.url} unreachable (schema id ${id}): ${describe(error)}`,
        { cause: error, canRetry: true },
      );
    }
    if (response.status === 404) {
      this.#rememberUnknown(id);
      throw this.#unknownId(id);
    }
    if (!response.ok) {
      const retry = response.status === 408 || response.status === 429 || response.status >= 500;
      throw new ShadowdiffError(
        'SD_REGISTRY_UNAVAILABLE',
        `schema registry ${this.url} answered ${response.status} for ${path}${registryMessage(text)}`,
        { canRetry: retry },
      );
    }
    let answer: Partial<SchemaAnswer>;
    try {
      answer = JSON.parse(text);
    } catch {
      throw new ShadowdiffError(
        'SD_REGISTRY_UNAVAILABLE',
        `schema registry ${this.url} answered ${path} with non-JSON`,
      );
    }
    if (typeof answer?.schema !== 'string') {
      throw new ShadowdiffError(
        'SD_REGISTRY_UNAVAILABLE',
        `schema registry ${this.url} answered ${path} without a schema`,
      );
    }
    if (answer.schemaType !== undefined && answer.schemaType !== 'AVRO') {
      throw new DecodeError('unknown_schema', `schema id ${id} is a ${answer.schemaType} schema, not Avro`);
    }
    return answer as SchemaAnswer;
  }

  #rememberUnknown(id: number): void {
    const now = this.#now();
    if (this.#unknownUntil.size >= UNKNOWN_IDS_SWEEP) {
      for (const [known, until] of this.#unknownUntil) if (until <= now) this.#unknownUntil.delete(known);
    }
    this.#unknownUntil.set(id, now + this.#unknownIdTtlMs);
  }

  #unknownId(id: number): DecodeError {
    return new DecodeError('unknown_schema', `unknown schema id ${id} (not in schema registry ${this.url})`);
  }
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${message}${cause}`;
}

/** The registry's own explanation (`{"error_code": 40101, "message": "..."}`), when it gave one. */
function registryMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown };
    return typeof body.message === 'string' ? `: ${body.message.slice(0, 200)}` : '';
  } catch {
    return '';
  }
}
