// billing.js: cost by service, family or tag for a month or a range, as a chart and a table,
// with idle cost, efficiency and a CSV download of the same report.
import { api, empty, errorBox, h, money, qs, session, setMain, table } from '../lib.js';
import { barChart } from '../charts.js';

const DAY = 86400000;
const iso = (d) => d.toISOString().slice(0, 10);

function monthRange(ym) {
  const [y, m] = ym.split('-').map(Number);
  return { start: iso(new Date(Date.UTC(y, m - 1, 1))), end: iso(new Date(Date.UTC(y, m, 1))) };
}

export async function billingPage(params) {
  const now = new Date();
  const month = params.get('month') || iso(now).slice(0, 7);
  const groupBy = params.get('group_by') || 'service';
  const tag = params.get('tag') || '';
  const range = params.get('start') && params.get('end') ? { start: params.get('start'), end: params.get('end') } : monthRange(month);
  const by = groupBy === 'tag' ? `tag:${tag}` : groupBy;
  const query = { start: range.start, end: range.end, group_by: by, granularity: 'monthly' };
  const form = h('form.row.card', { 'aria-label': 'Report', onsubmit: (ev) => {
    ev.preventDefault();
    const d = new FormData(ev.target);
    const p = { group_by: d.get('group_by'), tag: d.get('tag') };
    if (d.get('mode') === 'range') Object.assign(p, { start: d.get('start'), end: d.get('end') }); else p.month = d.get('month');
    location.hash = `#/billing${qs(p)}`;
  } },
  h('label', { for: 'b-group' }, 'Group by'),
  h('select', { id: 'b-group', name: 'group_by' }, ['service', 'family', 'cluster', 'task', 'tag'].map((g) => h('option', { value: g, selected: g === groupBy }, g))),
  h('input', { name: 'tag', placeholder: 'tag key', value: tag, 'aria-label': 'Tag key' }),
  h('label', h('input', { type: 'radio', name: 'mode', value: 'month', checked: !params.get('start') }), ' month'),
  h('input', { type: 'month', name: 'month', value: month, 'aria-label': 'Month' }),
  h('label', h('input', { type: 'radio', name: 'mode', value: 'range', checked: !!params.get('start') }), ' range'),
  h('input', { type: 'date', name: 'start', value: range.start, 'aria-label': 'From' }),
  h('input', { type: 'date', name: 'end', value: range.end, 'aria-label': 'To (exclusive)' }),
  h('button', { type: 'submit' }, 'Show'),
  h('span.spacer'),
  h('a.button#csv', { href: `/v1/billing/report${qs({ ...query, format: 'csv' })}`, download: `berth-billing-${range.start}-${range.end}.csv` }, 'Download CSV'));
  if (groupBy === 'tag' && !tag) {
    setMain(h('h1', 'Billing'), form, empty('Name a tag key.', 'Group by tag needs the key, e.g. team.'));
    return null;
  }
  setMain(h('h1', 'Billing'), form, h('p.muted', 'Loading…'));
  if (!session.billing) {
    setMain(h('h1', 'Billing'), form, empty('Billing is not available on this berthd.', 'This build or configuration keeps no usage ledger.'));
    return null;
  }
  let r;
  try {
    r = await api(`/v1/billing/report${qs({ ...query, format: 'json' })}`);
  } catch (e) {
    setMain(h('h1', 'Billing'), form, e.status === 404 ? empty('Billing is not available on this berthd.', 'This build keeps no usage ledger yet.') : errorBox(e, 'the report'));
    return null;
  }
  const groups = (r.groups || []).slice().sort((a, b) => Number(b.reservedCost) - Number(a.reservedCost));
  // efficiency is a percentage: used cost of reserved cost.
  const pct = (v) => v === undefined || v === null ? '—' : `${Number(v).toFixed(1)} %`;
  const cols = [
    { label: r.groupBy || by, cell: (g) => g.key || '(none)' },
    { label: 'Tasks', num: true, cell: (g) => String(g.tasks ?? '—') },
    { label: 'vCPU hours', num: true, cell: (g) => Number(g.vcpuHours || 0).toFixed(2) },
    { label: 'GB hours', num: true, cell: (g) => Number(g.gbHours || 0).toFixed(2) },
    { label: 'Reserved', num: true, cell: (g) => money(g.reservedCost, 4) },
    { label: 'Used', num: true, cell: (g) => money(g.usedCost, 4) },
    { label: 'Idle', num: true, cell: (g) => money(g.idleCost, 4) },
    { label: 'Efficiency', num: true, cell: (g) => pct(g.efficiency) },
  ];
  const t = r.totals || {};
  const chart = groups.length ? barChart(groups.slice(0, 30).map((g) => g.key || '(none)'), [
    { label: 'used', data: groups.slice(0, 30).map((g) => Number(g.usedCost || 0)) },
    { label: 'idle', data: groups.slice(0, 30).map((g) => Number(g.idleCost || 0)) },
  ], `${r.currency || 'USD'}`) : null;
  setMain(h('h1', 'Billing'), form,
    h('div.grid',
      h('div.card.stat', h('div.l', 'Reserved cost'), h('div.v', money(t.reservedCost))),
      h('div.card.stat', h('div.l', 'Idle cost'), h('div.v', money(t.idleCost))),
      h('div.card.stat', h('div.l', 'Efficiency'), h('div.v', pct(t.efficiency)), h('div.muted', 'used ÷ reserved'))),
    groups.length ? [h('h2', `Cost by ${r.groupBy || by}, ${r.start || range.start} to ${r.end || range.end}`), chart,
      table(cols, groups, { footer: ['Total', String(t.tasks ?? ''), Number(t.vcpuHours || 0).toFixed(2), Number(t.gbHours || 0).toFixed(2), money(t.reservedCost, 4), money(t.usedCost, 4), money(t.idleCost, 4), pct(t.efficiency)] })]
      : empty('No usage in this range.', 'Tasks are billed for the time they run; pick another month or range.'));
  return () => chart && chart.destroy();
}
