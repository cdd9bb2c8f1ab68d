import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { routeFor, routes } from '../../src/api/paths.js';
import { parseConfig } from '../../src/config/load.js';
import { METRIC_NAMES } from '../../src/metrics/metrics.js';
import { evaluateVerdict, type Verdict, verdictCode } from '../../src/verdict/verdict.js';
import { requireTool } from '../helpers/prometheus.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');
// biome-ignore lint/suspicious/noExplicitAny: manifests are free-form documents
type Doc = any;
const documents = (path: string): Doc[] => parseAllDocuments(read(path)).map((doc) => doc.toJS());
const byKind = (path: string, kind: string): Doc => {
  const found = documents(path).find((doc) => doc.kind === kind);
  expect(found, `${kind} in ${path}`).toBeDefined();
  return found;
};

const VERDICTS: readonly Verdict[] = ['PASS', 'INCONCLUSIVE', 'FAIL'];
const COMPARISON = 'orders-v2';
const SERVICE_URL = 'http://shadowdiff.shadowdiff:8080';

function listFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(`${dir}/${entry.name}`) : [`${dir}/${entry.name}`],
  );
}

/** A real verdict body, to resolve the JSON paths the gates read. */
const verdictBody = evaluateVerdict({
  comparison: COMPARISON,
  policy: { tolerance: 0.001, alpha: 0.05, minSamples: 1000, fields: {}, maxLagSeconds: 300 },
  counts: { equal: 10, different: 0, missing: 0, extra: 0 },
  fieldDifferences: {},
  complete: false,
});

/** `$.a.b` (Spinnaker, Jayway) or `{$.a.b}` (Argo, Kubernetes JSONPath) on an object. */
function resolveJsonPath(path: string, value: unknown): unknown {
  const steps = /^\{?\$((?:\.[A-Za-z_]+)+)\}?$/.exec(path);
  expect(steps, path).not.toBeNull();
  return steps![1]!
    .slice(1)
    .split('.')
    .reduce((node, key) => (node as Record<string, unknown>)[key], value);
}

/** The outcome an Argo metric gives one measurement; only the condition forms the examples use. */
function argoPhase(metric: Doc, result: unknown): 'Successful' | 'Failed' | 'Inconclusive' {
  const holds = (condition: string) => {
    const string = /^result == "([A-Z]+)"$/.exec(condition);
    if (string) return result === string[1];
    const first = /^result\[0\] == (-?\d+)$/.exec(condition);
    if (first) return (result as number[])[0] === Number(first[1]);
    throw new Error(`condition form not covered by this test: ${condition}`);
  };
  if (holds(metric.failureCondition)) return 'Failed';
  if (holds(metric.successCondition)) return 'Successful';
  return 'Inconclusive';
}

function metricNames(query: string): string[] {
  return [...query.matchAll(/\bshadowdiff_[a-z_]+\b/g)].map(([name]) => name);
}

const routePatterns = Object.values(routes).map(
  (route) => new RegExp(`^${route.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(':id', '[^/]+')}$`),
);

describe('shadowdiff URLs in examples and docs', () => {
  const files = [...listFiles('examples'), 'docs/GATES.md'];

  it('ships every example', () => {
    expect(files.sort()).toEqual(
      [
        'docs/GATES.md',
        'examples/argo-rollouts/analysis-template.yaml',
        'examples/ci/gate.sh',
        'examples/ci/github-actions.yaml',
        'examples/flagger/canary.yaml',
        'examples/flagger/metric-template.yaml',
        'examples/kubernetes/shadowdiff.yaml',
        'examples/prometheus/shadowdiff-alerts.test.yaml',
        'examples/prometheus/shadowdiff-alerts.yaml',
        'examples/spinnaker/webhook-stage.json',
      ].sort(),
    );
  });

  it('uses only paths the API serves', () => {
    let checked = 0;
    for (const file of files) {
      for (const [match] of read(file).matchAll(/\/v1\/comparisons[^\s"'`)\]|,]*/g)) {
        const path = match.replace(/[.:]+$/, '');
        expect(
          routePatterns.some((pattern) => pattern.test(path)),
          `${file}: ${path}`,
        ).toBe(true);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);
  });
});

describe('Flagger', () => {
  const canary = byKind('examples/flagger/canary.yaml', 'Canary');
  const template = byKind('examples/flagger/metric-template.yaml', 'MetricTemplate');
  const webhooks: Doc[] = canary.spec.analysis.webhooks;

  it('holds promotion on /gate/promote and rolls back on /gate/regression', () => {
    const url = (type: string) => webhooks.find((hook) => hook.type === type)?.url;
    expect(url('confirm-promotion')).toBe(`${SERVICE_URL}${routeFor(routes.gatePromote, COMPARISON)}`);
    expect(url('rollout')).toBe(`${SERVICE_URL}${routeFor(routes.gateRegression, COMPARISON)}`);
  });

  it('fails the metric check on FAIL only', () => {
    const metric = canary.spec.analysis.metrics.find((m: Doc) => m.templateRef?.name === template.metadata.name);
    expect(metric.templateRef.namespace).toBe(template.metadata.namespace);
    expect(metric.templateVariables.comparison).toBe(COMPARISON);
    const { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY } = metric.thresholdRange;
    const passes = (verdict: Verdict) => verdictCode(verdict) >= min && verdictCode(verdict) <= max;
    expect(VERDICTS.filter(passes)).toEqual(['PASS', 'INCONCLUSIVE']);
  });

  it('queries an exported metric for the canary comparison', () => {
    expect(template.spec.provider.type).toBe('prometheus');
    expect(metricNames(template.spec.query)).toEqual(['shadowdiff_verdict_code']);
    expect(template.spec.query).toContain('comparison="{{ variables.comparison }}"');
  });
});

describe('Argo Rollouts', () => {
  const template = byKind('examples/argo-rollouts/analysis-template.yaml', 'AnalysisTemplate');
  const metrics: Doc[] = template.spec.metrics;
  const web = metrics.find((m) => m.provider.web);
  const prometheus = metrics.find((m) => m.provider.prometheus);
  const arg = (name: string) => template.spec.args.find((a: Doc) => a.name === name)?.value;

  it('reads the verdict endpoint, which answers 200 for every verdict', () => {
    const url = web.provider.web.url
      .replace('{{args.shadowdiff-url}}', arg('shadowdiff-url'))
      .replace('{{args.comparison}}', COMPARISON);
    expect(url).toBe(`${SERVICE_URL}${routeFor(routes.verdict, COMPARISON)}`);
    expect(web.provider.web.jsonPath).toBe('{$.verdict}');
    expect(resolveJsonPath(web.provider.web.jsonPath, verdictBody)).toBe(verdictBody.verdict);
  });

  it('maps each verdict string to its measurement phase', () => {
    expect(VERDICTS.map((verdict) => argoPhase(web, verdict))).toEqual(['Successful', 'Inconclusive', 'Failed']);
  });

  it('maps each verdict code to the same phase', () => {
    expect(metricNames(prometheus.provider.prometheus.query)).toEqual(['shadowdiff_verdict_code']);
    expect(VERDICTS.map((verdict) => argoPhase(prometheus, [verdictCode(verdict)]))).toEqual([
      'Successful',
      'Inconclusive',
      'Failed',
    ]);
  });

  it('fails at the first FAIL and is Inconclusive only when no measurement decided', () => {
    for (const metric of [web, prometheus]) {
      expect(metric.failureLimit, metric.name).toBe(0);
      expect(metric.inconclusiveLimit, metric.name).toBe(metric.count - 1);
      expect(metric.consecutiveSuccessLimit, metric.name).toBe(1);
    }
  });
});

describe('Spinnaker', () => {
  const stage = JSON.parse(read('examples/spinnaker/webhook-stage.json'));
  // Orca splits the status lists on commas, trims and upper-cases them.
  const statuses = (list: string) => list.split(',').map((s) => s.trim().toUpperCase());

  it('polls the verdict endpoint with GET', () => {
    expect(stage).toMatchObject({
      type: 'webhook',
      method: 'GET',
      waitForCompletion: true,
      statusUrlResolution: 'getMethod',
    });
    expect(stage.url).toBe(`${SERVICE_URL}${routeFor(routes.verdict, COMPARISON)}`);
  });

  it('reads the verdict string and ends on PASS or FAIL only', () => {
    expect(stage.statusJsonPath).toBe('$.verdict');
    expect(resolveJsonPath(stage.statusJsonPath, verdictBody)).toBe(verdictBody.verdict);
    expect(statuses(stage.successStatuses)).toEqual(['PASS']);
    expect(statuses(stage.terminalStatuses)).toEqual(['FAIL']);
    expect(stage.canceledStatuses).toBeUndefined();
    expect(typeof resolveJsonPath(stage.progressJsonPath, verdictBody)).toBe('string');
  });
});

describe('CI', () => {
  const workflow = parseYaml(read('examples/ci/github-actions.yaml'));
  const gateScript = join(root, 'examples/ci/gate.sh');
  const scratch = mkdtempSync(join(tmpdir(), 'shadowdiff-gate-sh-'));

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('runs shadowdiff gate on the verdict URL in GitHub Actions', () => {
    const job = workflow.jobs['shadowdiff-gate'];
    const run = job.steps.map((step: Doc) => step.run ?? '').join('\n');
    expect(run).toContain('shadowdiff gate');
    expect(run).toContain('/v1/comparisons/${COMPARISON}/verdict');
    expect(run).toContain('--timeout 30m');
    // The runner's limit must outlast the gate's, or the runner decides instead of the verdict.
    expect(job['timeout-minutes']).toBeGreaterThan(30);
    expect(workflow.jobs.promote.needs).toBe('shadowdiff-gate');
  });

  it('has a gate script that bash accepts', () => {
    expect(() => execFileSync('bash', ['-n', gateScript])).not.toThrow();
  });

  it.each([0, 1, 2, 3])('passes exit code %i of shadowdiff gate through', (code) => {
    // A stand-in for the CLI on PATH: records its arguments and exits with the given code.
    const bin = join(scratch, `bin-${code}`);
    const argsFile = join(scratch, `args-${code}`);
    execFileSync('mkdir', ['-p', bin]);
    writeFileSync(join(bin, 'shadowdiff'), `#!/usr/bin/env bash\necho "$@" > "${argsFile}"\nexit ${code}\n`);
    chmodSync(join(bin, 'shadowdiff'), 0o755);
    const result = spawnSync('bash', [gateScript, COMPARISON, 'http://gate.example:8080/'], {
      env: { PATH: `${bin}:${process.env.PATH}`, SHADOWDIFF_GATE_INTERVAL: '5s' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(code);
    expect(readFileSync(argsFile, 'utf8').trim()).toBe(
      `gate --url http://gate.example:8080${routeFor(routes.verdict, COMPARISON)} --timeout 30m --interval 5s`,
    );
  });
});

describe('Kubernetes', () => {
  const path = 'examples/kubernetes/shadowdiff.yaml';
  const deployment = byKind(path, 'Deployment');
  const service = byKind(path, 'Service');
  const configMap = byKind(path, 'ConfigMap');
  const pod = deployment.spec.template;
  const container = pod.spec.containers[0];

  it('probes /healthz for liveness and /readyz for readiness', () => {
    expect(container.livenessProbe.httpGet.path).toBe(routes.healthz);
    expect(container.startupProbe.httpGet.path).toBe(routes.healthz);
    expect(container.readinessProbe.httpGet.path).toBe(routes.readyz);
  });

  it('is scraped by Prometheus on /metrics', () => {
    expect(pod.metadata.annotations).toEqual({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(container.ports[0].containerPort),
      'prometheus.io/path': routes.metrics,
    });
  });

  it('reads the admin and read tokens from Secrets and runs as non-root', () => {
    const token = container.env.find((e: Doc) => e.name === 'SHADOWDIFF_ADMIN_TOKEN');
    expect(token.valueFrom.secretKeyRef).toMatchObject({ name: 'shadowdiff-admin', key: 'token' });
    const readToken = container.env.find((e: Doc) => e.name === 'SHADOWDIFF_READ_TOKEN');
    expect(readToken.valueFrom.secretKeyRef).toMatchObject({ name: 'shadowdiff-read', key: 'token', optional: true });
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
    expect(pod.spec.securityContext.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
  });

  it('serves on port 8080 at the address the gates call', () => {
    expect(`http://${service.metadata.name}.${service.metadata.namespace}:${service.spec.ports[0].port}`).toBe(
      SERVICE_URL,
    );
    expect(service.spec.selector).toEqual(pod.metadata.labels);
    expect(deployment.spec.selector.matchLabels).toEqual(pod.metadata.labels);
  });

  it('ships a valid config that matches the container', () => {
    const config = parseConfig(parseYaml(configMap.data['shadowdiff.yaml']), {
      SHADOWDIFF_ADMIN_TOKEN: 's3cret',
      SHADOWDIFF_READ_TOKEN: 'r3ad',
    } as NodeJS.ProcessEnv);
    expect(config.server.adminToken).toBe('s3cret');
    expect(config.server.readToken).toBe('r3ad');
    expect(config.server.port).toBe(container.ports[0].containerPort);
    expect(config.comparisons.map((c) => c.id)).toEqual([COMPARISON]);

    const configPath = container.args[container.args.indexOf('--config') + 1];
    const mount = (name: string) => container.volumeMounts.find((m: Doc) => m.name === name).mountPath;
    expect(dirname(configPath)).toBe(mount('config'));
    expect(pod.spec.volumes.find((v: Doc) => v.name === 'config').configMap.name).toBe(configMap.metadata.name);
    expect(configMap.data).toHaveProperty(configPath.split('/').pop());
    expect(dirname(config.storage.path)).toBe(mount('data'));
  });

  it('has no admin or read token without the Secrets', () => {
    const config = parseConfig(parseYaml(configMap.data['shadowdiff.yaml']), {} as NodeJS.ProcessEnv);
    expect(config.server.adminToken).toBe('');
    expect(config.server.readToken).toBe('');
  });
});

describe('Prometheus alerting rules', () => {
  const RULES = 'examples/prometheus/shadowdiff-alerts.yaml';
  const TESTS = 'examples/prometheus/shadowdiff-alerts.test.yaml';
  const rules: Doc[] = parseYaml(read(RULES)).groups.flatMap((group: Doc) => group.rules);
  const promtool = (...args: string[]) =>
    spawnSync(requireTool('promtool'), args, { cwd: join(root, 'examples/prometheus'), encoding: 'utf8' });

  it('alerts on FAIL, lag, invalid records, stalled windows and misrouted keys', () => {
    expect(rules.map((rule) => rule.alert)).toEqual([
      'ShadowdiffVerdictFail',
      'ShadowdiffLagAboveMax',
      'ShadowdiffInvalidRecords',
      'ShadowdiffWindowsStalled',
      'ShadowdiffMisroutedKeys',
    ]);
  });

  it('alerts once per comparison, however many instances export it', () => {
    for (const rule of rules) {
      const groupings = [...rule.expr.matchAll(/\b(?:min|max|sum) by \(([^)]*)\)/g)].map(([, labels]) => labels);
      expect(groupings.length, rule.alert).toBeGreaterThan(0);
      for (const labels of groupings) expect(labels.split(/,\s*/), rule.alert).toContain('comparison');
    }
  });

  it('passes promtool check rules', () => {
    const check = promtool('check', 'rules', 'shadowdiff-alerts.yaml');
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('passes its promtool unit tests, which cover every alert', () => {
    const tests = parseYaml(read(TESTS));
    const tested = new Set(
      tests.tests.flatMap((test: Doc) => test.alert_rule_test.map((check: Doc) => check.alertname)),
    );
    expect([...tested].sort()).toEqual(rules.map((rule) => rule.alert).sort());
    const run = promtool('test', 'rules', 'shadowdiff-alerts.test.yaml');
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('SUCCESS');
  });
});

describe('metric queries', () => {
  it('name only exported metrics', () => {
    const queries = [
      byKind('examples/flagger/metric-template.yaml', 'MetricTemplate').spec.query,
      ...byKind('examples/argo-rollouts/analysis-template.yaml', 'AnalysisTemplate')
        .spec.metrics.filter((m: Doc) => m.provider.prometheus)
        .map((m: Doc) => m.provider.prometheus.query),
      read('examples/prometheus/shadowdiff-alerts.yaml'),
      read('docs/GATES.md'),
    ];
    const names = queries.flatMap(metricNames);
    expect(names.length).toBeGreaterThan(2);
    for (const name of names) expect(METRIC_NAMES, name).toContain(name);
  });
});
