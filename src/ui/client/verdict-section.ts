import { headline, nextStep } from '../view/evidence.js';
import type { Formats } from '../view/format.js';
import type { Verdict } from '../view/model.js';
import { badge, h, table } from './dom.js';

const CHECK_NAMES: Record<string, string> = {
  mismatch_rate: 'mismatch rate',
  missing: 'missing rate',
  extra: 'extra rate',
};

const checkName = (name: string) => CHECK_NAMES[name] ?? name.replace(/^field:/, 'field ');

/** The verdict, why, the evidence so far, and what would change it. */
export function verdictSection(verdict: Verdict, minSamples: number, format: Formats): HTMLElement {
  const { stats } = verdict;
  const evidence: [string, string][] = [
    ['Sampled (compared keys)', format.count(stats.sampled)],
    ['Mismatched', format.count(stats.mismatched)],
    ['Mismatch rate', format.percent(stats.rate)],
    ['Confidence bounds', `${format.percent(stats.lower)} – ${format.percent(stats.upper)}`],
    ['Tolerance', format.percent(stats.tolerance)],
    ['Confidence', format.percent(1 - stats.alpha)],
    ['Minimum samples', format.count(minSamples)],
    ['Score', `${verdict.score} / 100`],
  ];
  return h(
    'section',
    { 'aria-labelledby': 'verdict-heading', class: `verdict verdict-${verdict.verdict.toLowerCase()}` },
    h('h2', { id: 'verdict-heading' }, 'Verdict ', badge(verdict.verdict)),
    h('p', { class: 'headline', 'data-testid': 'headline' }, headline(verdict, format)),
    h('p', {}, h('strong', {}, 'Why: '), h('span', { 'data-testid': 'reason' }, verdict.reason)),
    h('p', { 'data-testid': 'next-step' }, nextStep(verdict, minSamples, format)),
    h(
      'dl',
      { class: 'evidence', 'data-testid': 'evidence' },
      ...evidence.map(([term, value]) => h('div', {}, h('dt', {}, term), h('dd', {}, value))),
    ),
    verdict.checks.length > 1
      ? table(
          'Checks',
          ['check', 'verdict', 'observed', 'bounds', 'tolerance'],
          verdict.checks.map((c) => [
            checkName(c.name),
            badge(c.verdict),
            format.percent(c.observed),
            `${format.percent(c.lower)} – ${format.percent(c.upper)}`,
            format.percent(c.tolerance),
          ]),
        )
      : null,
    h(
      'p',
      { class: 'muted' },
      `Evaluated ${format.time(verdict.evaluatedAt)}${verdict.complete ? '; every input compared' : ''}.`,
    ),
  );
}
