import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy, renderPage } from '../../src/ui/page.js';

/** The page document (`npm run build` first: it inlines dist/ui/assets). */
const between = (html: string, open: string, close: string) => {
  const start = html.indexOf(open) + open.length;
  return html.slice(start, html.indexOf(close, start));
};
const sha = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

describe('renderPage', () => {
  it('embeds hostile record text so that it cannot end the data element, and reads back the same', () => {
    const hostile = '</script><script>window.pwned = 1</script><!-- \u2028';
    const report = { result: { samples: [{ outcome: 'different', live: hostile, candidate: '</SCRIPT >' }] } };
    const html = renderPage({ title: 'a </title> <b>', report });
    expect(html.match(/<\/script>/gi)).toHaveLength(2);
    expect(html).toContain('<title>a &#60;/title&#62; &#60;b&#62;</title>');
    const data = between(html, '<script type="application/json" id="report-data">', '</script>');
    expect(JSON.parse(data)).toEqual(report);
  });

  it('allows exactly its inline script and style, and a report no network', () => {
    const html = renderPage({ title: 'x' });
    const script = between(html, '<script>', '</script>');
    const style = between(html, '<style>', '</style>');
    const served = contentSecurityPolicy(false);
    expect(served).toContain(`script-src ${sha(script)}`);
    expect(served).toContain(`style-src ${sha(style)}`);
    expect(served).toContain("connect-src 'self'");
    const report = renderPage({ title: 'x', report: {} });
    expect(report).toContain(`connect-src &#39;none&#39;`);
    expect(html).not.toContain('id="report-data"');
  });
});
