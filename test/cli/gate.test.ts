import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { routeFor, routes } from '../../src/api/paths.js';
import { runGate } from '../../src/cli/gate.js';
import { ShadowdiffError } from '../../src/errors.js';

interface Answer {
  status: number;
  body: string;
}

const verdict = (value: 'PASS' | 'FAIL' | 'INCONCLUSIVE', status = 200): Answer => ({
  status,
  body: JSON.stringify({
    apiVersion: 'shadowdiff/v1',
    comparison: 'orders-v2',
    verdict: value,
    reason: `reason for ${value}`,
    score: value === 'PASS' ? 80 : value === 'FAIL' ? 10 : 60,
  }),
});

const PATH = routeFor(routes.verdict, 'orders-v2');
const servers: Server[] = [];

/** A verdict endpoint that gives the answers in turn, then repeats the last one. */
async function serve(answers: Answer[]): Promise<{ url: string; requests: { path?: string; accept?: string }[] }> {
  const requests: { path?: string; accept?: string }[] = [];
  const server = createServer((request, response) => {
    requests.push({ path: request.url, accept: request.headers.accept });
    const answer = answers[Math.min(requests.length, answers.length) - 1]!;
    response.writeHead(answer.status, { 'content-type': 'application/json' });
    response.end(answer.body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}${PATH}`, requests };
}

/** A URL on which nothing listens: a port the system just handed out and took back. */
async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}${PATH}`;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

describe('shadowdiff gate', () => {
  it('polls through INCONCLUSIVE and exits 0 on PASS', async () => {
    const { url, requests } = await serve([verdict('INCONCLUSIVE'), verdict('INCONCLUSIVE'), verdict('PASS')]);
    const lines: string[] = [];
    const code = await runGate({ url, timeout: '10s', interval: '50ms', log: (line) => lines.push(line) });
    expect(code).toBe(0);
    expect(requests).toHaveLength(3);
    expect(requests.every((r) => r.path === PATH && r.accept === 'application/json')).toBe(true);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/ INCONCLUSIVE \(score 60\): reason for INCONCLUSIVE$/);
    expect(lines[2]).toMatch(/ PASS \(score 80\): reason for PASS$/);
  });

  it('exits 1 on FAIL', async () => {
    const { url, requests } = await serve([verdict('FAIL')]);
    const code = await runGate({ url, timeout: '10s', interval: '50ms', log: () => {} });
    expect(code).toBe(1);
    expect(requests).toHaveLength(1);
  });

  it('exits 2 when the verdict is still INCONCLUSIVE at the timeout', async () => {
    const { url, requests } = await serve([verdict('INCONCLUSIVE')]);
    const lines: string[] = [];
    const started = Date.now();
    const code = await runGate({ url, timeout: '300ms', interval: '50ms', log: (line) => lines.push(line) });
    const elapsed = Date.now() - started;
    expect(code).toBe(2);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2000);
    expect(requests.length).toBeGreaterThanOrEqual(3);
    expect(lines.at(-1)).toBe('still INCONCLUSIVE after 300ms');
  });

  it('reads the verdict from the body whatever the status code', async () => {
    const { url } = await serve([verdict('INCONCLUSIVE', 503), verdict('FAIL', 409)]);
    expect(await runGate({ url, timeout: '10s', interval: '50ms', log: () => {} })).toBe(1);
  });

  it('retries answers without a verdict', async () => {
    const { url, requests } = await serve([
      { status: 502, body: 'Bad Gateway' },
      { status: 200, body: '{"status":"ok"}' },
      verdict('PASS'),
    ]);
    const lines: string[] = [];
    expect(await runGate({ url, timeout: '10s', interval: '50ms', log: (line) => lines.push(line) })).toBe(0);
    expect(requests).toHaveLength(3);
    expect(lines.slice(0, 2)).toEqual([
      `HTTP 502 without a verdict from ${url}`,
      `HTTP 200 without a verdict from ${url}`,
    ]);
  });

  it('fails with SD_GATE_UNREACHABLE (exit 3) when the endpoint never answers', async () => {
    const url = await refusedUrl();
    const lines: string[] = [];
    const gate = runGate({ url, timeout: '300ms', interval: '50ms', log: (line) => lines.push(line) });
    const error = await gate.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ShadowdiffError);
    expect(error).toMatchObject({ code: 'SD_GATE_UNREACHABLE', exitCode: 3 });
    expect((error as Error).message).toMatch(new RegExp(`^cannot reach ${url}: `));
    expect(lines.length).toBeGreaterThanOrEqual(2);
  });

  it('fails with SD_GATE_UNREACHABLE when every answer lacks a verdict', async () => {
    const { url } = await serve([{ status: 404, body: '{"error":"not_found","message":"no comparison orders-v2"}' }]);
    await expect(runGate({ url, timeout: '200ms', interval: '50ms', log: () => {} })).rejects.toMatchObject({
      code: 'SD_GATE_UNREACHABLE',
      message: `HTTP 404 without a verdict from ${url}`,
    });
  });

  it.each([
    ['soon', '30s', '--timeout: expected a duration like 30s, got soon'],
    ['30m', '5 minutes', '--interval: expected a duration like 30s, got 5 minutes'],
    ['30m', '0s', '--interval: must be greater than 0'],
  ])('rejects timeout %s / interval %s with SD_CLI_USAGE', async (timeout, interval, message) => {
    const { url, requests } = await serve([verdict('PASS')]);
    await expect(runGate({ url, timeout, interval, log: () => {} })).rejects.toMatchObject({
      code: 'SD_CLI_USAGE',
      exitCode: 3,
      message,
    });
    expect(requests).toHaveLength(0);
  });
});
