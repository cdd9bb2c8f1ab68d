/** The HTTP routes of SPEC §5, shared by the server, the gate CLI, examples and their tests. */
export const routes = {
  ui: '/',
  healthz: '/healthz',
  readyz: '/readyz',
  metrics: '/metrics',
  openapi: '/openapi.json',
  comparisons: '/v1/comparisons',
  comparison: '/v1/comparisons/:id',
  verdict: '/v1/comparisons/:id/verdict',
  gatePromote: '/v1/comparisons/:id/gate/promote',
  gateRegression: '/v1/comparisons/:id/gate/regression',
  summary: '/v1/comparisons/:id/summary',
  windows: '/v1/comparisons/:id/windows',
  samples: '/v1/comparisons/:id/samples',
  sample: '/v1/comparisons/:id/samples/:sampleId',
  reset: '/v1/comparisons/:id/reset',
  scope: '/v1/comparisons/:id/scope',
} as const;

/** `/v1/comparisons/:id/verdict` with the id filled in. */
export function routeFor(route: string, id: string): string {
  return route.replace(':id', encodeURIComponent(id));
}
