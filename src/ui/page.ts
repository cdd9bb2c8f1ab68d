import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ShadowdiffError } from '../errors.js';

/**
 * The diff explorer's one HTML document: its script and style (bundled by esbuild at build time
 * into dist/ui/assets) inline, so it needs no further request, works under any path prefix and,
 * as a `--html` report, opens offline from disk. A content security policy allows exactly that
 * script and style and, for a report, no network at all.
 */
interface Assets {
  script: string;
  style: string;
}

/** Built next to this module in dist; from src (tests), the build's copy. */
const PLACES = [new URL('./assets/', import.meta.url), new URL('../../dist/ui/assets/', import.meta.url)];

let cached: Assets | undefined;

function assets(): Assets {
  if (cached !== undefined) return cached;
  for (const place of PLACES) {
    try {
      // A `</script` in the bundle's strings would end the inline script early.
      const script = readFileSync(new URL('main.js', place), 'utf8').replace(/<\/(script)/gi, '<\\/$1');
      const style = readFileSync(new URL('app.css', place), 'utf8');
      cached = { script, style };
      return cached;
    } catch {}
  }
  throw new ShadowdiffError('SD_UI_UNBUILT', 'the UI assets (dist/ui/assets) are missing: run npm run build');
}

const hash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** JSON inside a script element: `<` escaped, so no record text can close the element. */
function embeddedJson(data: unknown): string {
  return JSON.stringify(data).replace(/</g, '\\u003c');
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface PageOptions {
  title: string;
  /** The `--html` report's data; absent for the service's page, which reads the API. */
  report?: unknown;
}

/** The policy for a page: inline script and style by hash; the API (same origin) only when served. */
export function contentSecurityPolicy(report: boolean): string {
  const { script, style } = assets();
  return [
    "default-src 'none'",
    `script-src ${hash(script)}`,
    `style-src ${hash(style)}`,
    `connect-src ${report ? "'none'" : "'self'"}`,
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    ...(report ? [] : ["frame-ancestors 'none'"]),
  ].join('; ');
}

export function renderPage(options: PageOptions): string {
  const { script, style } = assets();
  const report = options.report !== undefined;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${report ? `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(true))}">\n` : ''}<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${escapeHtml(options.title)}</title>
<style>${style}</style>
</head>
<body>
<a class="skip" href="#app">Skip to content</a>
<main id="app" tabindex="-1"><p>Loading… (this page needs JavaScript)</p></main>
${report ? `<script type="application/json" id="report-data">${embeddedJson(options.report)}</script>\n` : ''}<script>${script}</script>
</body>
</html>
`;
}
