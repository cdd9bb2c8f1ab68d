import { differingPaths, nestAt, pairHighlights, sideTree, type TreeNode } from '../view/json-tree.js';
import { h } from './dom.js';

/** One side's JSON tree; differing values carry `data-differs` and are marked for eye and screen reader. */
function renderNode(node: TreeNode): HTMLElement {
  const label =
    node.label === '' ? null : h('span', { class: 'key' }, node.label.startsWith('[') ? node.label : `${node.label}:`);
  const mark = node.differs ? h('span', { class: 'visually-hidden' }, ' (differs)') : null;
  const attributes = {
    class: `node kind-${node.kind}${node.differs ? ' differs' : ''}${node.contains ? ' contains' : ''}`,
    'data-path': node.path,
    ...(node.differs ? { 'data-differs': 'true' } : {}),
  };
  if (node.children === undefined) {
    const value =
      node.kind === 'absent'
        ? h('span', { class: 'absent' }, '(absent)')
        : h('span', { class: 'value' }, node.text ?? '');
    return h('li', attributes, label, ' ', value, mark);
  }
  const [open, close] = node.kind === 'array' ? ['[', ']'] : ['{', '}'];
  return h(
    'li',
    attributes,
    label,
    ` ${open}`,
    mark,
    node.children.length === 0 ? close : [h('ul', {}, ...node.children.map(renderNode)), close],
  );
}

function treeOf(title: string, root: TreeNode): HTMLElement {
  return h(
    'div',
    { class: 'tree', 'data-side': title },
    h('h4', {}, title),
    h('ul', { class: 'json' }, renderNode(root)),
  );
}

/** Live and candidate side by side, each at the field's place in the record, differing paths marked. */
export function pairTrees(field: string | undefined, live: unknown, candidate: unknown): HTMLElement {
  const left = nestAt(field ?? '', live);
  const right = nestAt(field ?? '', candidate);
  const differing = differingPaths(left, right);
  return h(
    'div',
    { class: 'pair trees' },
    treeOf('live', sideTree(left, right, differing)),
    treeOf('candidate', sideTree(right, left, differing)),
  );
}

/** A whole record of one side (missing or extra). */
export function recordTree(title: string, record: unknown): HTMLElement {
  return treeOf(title, sideTree(record, record, new Set()));
}

/** Two whole records side by side, the paths in the engine's differing `fields` marked. */
export function wholePairTrees(live: unknown, candidate: unknown, fields: readonly string[]): HTMLElement {
  const marked = pairHighlights(live, candidate, fields);
  return h(
    'div',
    { class: 'pair trees' },
    treeOf('live', sideTree(live, candidate, marked)),
    treeOf('candidate', sideTree(candidate, live, marked)),
  );
}
