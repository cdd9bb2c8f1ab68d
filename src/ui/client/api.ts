import { parseJson } from '../view/json-tree.js';

/**
 * The page's one way to the JSON API: relative URLs (so it works behind any path prefix, as behind
 * an ingress), exact numbers kept, and the read token held in this tab's memory only: never in
 * the URL, a cookie or storage, and gone when the tab closes.
 */
let readToken: string | undefined;

export function setReadToken(token: string | undefined): void {
  readToken = token === '' ? undefined : token;
}

export function hasReadToken(): boolean {
  return readToken !== undefined;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The page's own location as a folder: `/prefix` and `/prefix/` both resolve `v1/…` below the prefix. */
function base(): URL {
  const url = new URL(window.location.href);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  url.search = '';
  url.hash = '';
  return url;
}

export function apiUrl(path: string): URL {
  return new URL(path, base());
}

async function send(path: string, init: RequestInit, token: string | undefined): Promise<unknown> {
  const headers = new Headers(init.headers);
  headers.set('accept', 'application/json');
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
  const response = await fetch(apiUrl(path), { ...init, headers, credentials: 'omit', cache: 'no-store' });
  const text = await response.text();
  const body = text === '' ? undefined : parseJson(text);
  if (!response.ok) {
    const error = (body ?? {}) as { error?: string; message?: string };
    throw new ApiError(response.status, error.error ?? 'SD_HTTP', error.message ?? response.statusText);
  }
  return body;
}

/** Open data: verdicts, counts, fields, windows. */
export function getJson<T>(path: string): Promise<T> {
  return send(path, {}, undefined) as Promise<T>;
}

/** Record content (samples, dead letters): sends the read token when one was given. */
export function getRecords<T>(path: string): Promise<T> {
  return send(path, {}, readToken) as Promise<T>;
}

/** A mutating call with the admin token the user typed; the token is not kept. */
export function adminCall<T>(method: string, path: string, token: string, body?: unknown): Promise<T> {
  const init: RequestInit =
    body === undefined
      ? { method }
      : { method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
  return send(path, init, token) as Promise<T>;
}

export const paths = {
  comparisons: 'v1/comparisons',
  comparison: (id: string) => `v1/comparisons/${encodeURIComponent(id)}`,
  verdict: (id: string) => `v1/comparisons/${encodeURIComponent(id)}/verdict`,
  summary: (id: string) => `v1/comparisons/${encodeURIComponent(id)}/summary`,
  windows: (id: string, limit: number) => `v1/comparisons/${encodeURIComponent(id)}/windows?limit=${limit}`,
  samples: (id: string, query: Record<string, string | number | undefined>) => {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (value !== undefined) search.set(name, String(value));
    return `v1/comparisons/${encodeURIComponent(id)}/samples?${search}`;
  },
  sample: (id: string, sampleId: string) =>
    `v1/comparisons/${encodeURIComponent(id)}/samples/${encodeURIComponent(sampleId)}`,
  reset: (id: string) => `v1/comparisons/${encodeURIComponent(id)}/reset`,
};
