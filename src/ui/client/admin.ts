import { ApiError, adminCall, paths } from './api.js';
import { h } from './dom.js';

/**
 * The admin token field: read when an action is sent, never kept elsewhere, never in a URL. The
 * server keeps no session either: each request carries it.
 */
function tokenField(id: string): HTMLInputElement {
  return h('input', { type: 'password', id, autocomplete: 'off', required: true });
}

function outcome(status: HTMLElement, error: unknown): void {
  status.textContent =
    error instanceof ApiError
      ? `${error.status === 401 || error.status === 403 ? 'Refused' : 'Failed'} (${error.status}): ${error.message}`
      : `Failed: ${(error as Error).message}`;
  status.setAttribute('data-state', 'error');
}

/** Reset and delete of one comparison, with the admin token typed here. */
export function comparisonAdmin(id: string, done: { reset(): void; deleted(): void }): HTMLElement {
  const token = tokenField('admin-token');
  const status = h('p', { role: 'status', 'data-testid': 'admin-status' });
  const run = async (action: 'reset' | 'delete') => {
    if (!token.reportValidity()) return;
    if (action === 'delete' && !window.confirm(`Delete comparison ${id} and its stored results?`)) return;
    status.textContent = action === 'reset' ? 'Resetting…' : 'Deleting…';
    status.removeAttribute('data-state');
    try {
      if (action === 'reset') await adminCall('POST', paths.reset(id), token.value);
      else await adminCall('DELETE', paths.comparison(id), token.value);
      status.textContent = action === 'reset' ? 'Reset: a new epoch started.' : 'Deleted.';
      status.setAttribute('data-state', 'ok');
      if (action === 'reset') done.reset();
      else done.deleted();
    } catch (error) {
      outcome(status, error);
    }
  };
  return h(
    'section',
    { 'aria-labelledby': 'admin-heading' },
    h('h2', { id: 'admin-heading' }, 'Admin'),
    h(
      'form',
      { class: 'admin', onsubmit: (event: Event) => event.preventDefault() },
      h('label', { for: 'admin-token' }, 'Admin token'),
      token,
      h('button', { type: 'button', onclick: () => void run('reset') }, 'Reset comparison'),
      h('button', { type: 'button', class: 'danger', onclick: () => void run('delete') }, 'Delete comparison'),
    ),
    status,
  );
}

const EXAMPLE = `{
  "id": "orders-v3",
  "live": {"kafka": {"topic": "orders.v1"}},
  "candidate": {"kafka": {"topic": "orders.v3"}},
  "key": ["order_id"],
  "time": {"field": "event_time"},
  "verdict": {"tolerance": 0.001}
}`;

/** Creates a comparison from a JSON body (the config file's comparison entry), with the admin token. */
export function createForm(created: (id: string) => void): HTMLElement {
  const token = tokenField('create-token');
  const body = h('textarea', { id: 'create-body', rows: 9, spellcheck: 'false', required: true });
  body.value = EXAMPLE;
  const status = h('p', { role: 'status', 'data-testid': 'create-status' });
  const submit = async (event: Event) => {
    event.preventDefault();
    let config: { id?: string };
    try {
      config = JSON.parse(body.value);
    } catch (error) {
      status.textContent = `Not JSON: ${(error as Error).message}`;
      status.setAttribute('data-state', 'error');
      return;
    }
    status.textContent = 'Creating…';
    status.removeAttribute('data-state');
    try {
      await adminCall('POST', paths.comparisons, token.value, config);
      status.textContent = `Created ${config.id}.`;
      status.setAttribute('data-state', 'ok');
      created(String(config.id));
    } catch (error) {
      outcome(status, error);
    }
  };
  return h(
    'section',
    { 'aria-labelledby': 'create-heading' },
    h('h2', { id: 'create-heading' }, 'Create a comparison'),
    h(
      'form',
      { class: 'admin create', onsubmit: submit },
      h('label', { for: 'create-body' }, 'Comparison (JSON, as an entry of the config file)'),
      body,
      h('label', { for: 'create-token' }, 'Admin token'),
      token,
      h('button', { type: 'submit' }, 'Create'),
    ),
    status,
  );
}
