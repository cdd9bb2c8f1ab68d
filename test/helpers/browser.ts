/// <reference lib="dom" />
// Page callbacks (evaluate, waitForFunction) run in the browser and name its globals.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium, type Page } from 'playwright-core';
import { describe } from 'vitest';

/**
 * Headless Chromium from the Debian package (scripts/test-deps.sh installs it), driven by
 * playwright-core: no browser download. Without it the browser tests fail, naming what to install.
 */
export function chromiumPath(): string | undefined {
  for (const name of [process.env.CHROMIUM_PATH, 'chromium', 'chromium-browser']) {
    if (!name) continue;
    const found = spawnSync('sh', ['-c', `command -v "${name}"`], { encoding: 'utf8' });
    if (found.status === 0 && found.stdout.trim() !== '') return found.stdout.trim();
  }
  return undefined;
}

const MISSING =
  'chromium is not installed: run `bash scripts/test-deps.sh` (Debian package chromium) or set CHROMIUM_PATH';

/** `describe` for tests that need the browser: a missing browser fails them, never skips them. */
export function describeInBrowser(name: string, body: () => void): void {
  if (chromiumPath() === undefined) throw new Error(`${name}: ${MISSING}`);
  describe(name, body);
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath()!,
    // Root in containers has no user namespaces for Chromium's sandbox; /dev/shm may be tiny.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

/** Screenshots for people to look at: an ignored folder (test-results/). */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  const dir = new URL('../../test-results/ui/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: `${dir}${name}.png`, fullPage });
}

/** Wait budget for anything the page does: generous, CI shares two cores with a broker. */
export const UI_TIMEOUT = 30_000;

/**
 * A reverse proxy that serves `target` under `prefix`, as an ingress would: it strips the prefix
 * and refuses (404) and records anything outside it.
 */
export async function prefixProxy(
  target: number,
  prefix: string,
): Promise<{ url: string; outside: string[]; close(): Promise<void> }> {
  const outside: string[] = [];
  const server: Server = createServer((incoming, answer) => {
    const url = incoming.url ?? '/';
    if (!url.startsWith(prefix)) {
      outside.push(url);
      answer.writeHead(404).end();
      return;
    }
    const forwarded = request(
      {
        host: '127.0.0.1',
        port: target,
        method: incoming.method,
        path: url.slice(prefix.length - 1) || '/',
        headers: incoming.headers,
      },
      (response) => {
        answer.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(answer);
      },
    );
    forwarded.on('error', () => answer.writeHead(502).end());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    outside,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
