// tasks.js: the task list (filters, pages of 50 over any number of tasks) and a task's detail
// (containers, health, exit codes, stop code and reason, limits, charts, live log; stop task).
import { api, apiRaw, badge, canAct, catalog, ecs, empty, errorBox, fmtAge, fmtTime, h, qs, reload, setMain, shortArn, table, toast } from '../lib.js';
import { ChartGroup } from '../charts.js';

const PAGE = 50;

const taskLink = (t) => `#/tasks/${encodeURIComponent(t.cluster)}/${encodeURIComponent(t.id)}`;

export function taskTable(rows) {
  return table([
    { label: 'Task', cell: (t) => h('a', { href: taskLink(t) }, t.id.slice(0, 12)) },
    { label: 'Cluster', cell: (t) => t.cluster },
    { label: 'Family', cell: (t) => `${t.family}:${t.revision}` },
    { label: 'Service', cell: (t) => t.service || '—' },
    { label: 'Status', cell: (t) => badge(t.lastStatus) },
    { label: 'Health', cell: (t) => badge(t.healthStatus || 'UNKNOWN') },
    { label: 'CPU', num: true, cell: (t) => t.cpu || '—' },
    { label: 'Memory', num: true, cell: (t) => t.memory ? `${t.memory} MiB` : '—' },
    { label: 'Started', cell: (t) => t.startedAt ? `${fmtAge(t.startedAt)} ago` : '—' },
    { label: 'Stop code', cell: (t) => t.stopCode || '' },
  ], rows);
}

function select(name, label, values, current) {
  return h('span', h('label', { for: `f-${name}` }, `${label} `),
    h('select', { id: `f-${name}`, name },
      h('option', { value: '' }, 'all'),
      values.map((v) => h('option', { value: v, selected: v === current }, v))));
}

export async function tasksPage(params) {
  const f = Object.fromEntries(['cluster', 'service', 'family', 'status', 'q'].map((k) => [k, params.get(k) || '']));
  if (!params.has('status')) f.status = 'ACTIVE';
  const offset = Math.max(0, Number(params.get('offset') || 0));
  setMain(h('h1', 'Tasks'), h('p.muted', 'Loading…'));
  let r;
  try {
    r = await api(`/v1/dashboard/tasks${qs({ ...f, offset, limit: PAGE })}`);
  } catch (e) {
    setMain(h('h1', 'Tasks'), errorBox(e, 'tasks'));
    return null;
  }
  const go = (over) => {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...f, offset: '', ...over })) if (v !== '' || k === 'status') u.set(k, v);
    location.hash = `#/tasks?${u}`;
  };
  const form = h('form.row.card', { role: 'search', 'aria-label': 'Filter tasks', onsubmit: (ev) => {
    ev.preventDefault();
    const d = new FormData(ev.target);
    go(Object.fromEntries(['cluster', 'service', 'family', 'status', 'q'].map((k) => [k, d.get(k) || ''])));
  } },
  select('cluster', 'Cluster', r.facets.clusters, f.cluster),
  select('service', 'Service', r.facets.services, f.service),
  select('family', 'Family', r.facets.families, f.family),
  h('span', h('label', { for: 'f-status' }, 'Status '), h('select', { id: 'f-status', name: 'status' },
    [['', 'all'], ['ACTIVE', 'not stopped'], ['RUNNING', 'RUNNING'], ['PENDING', 'PENDING'], ['STOPPED', 'STOPPED']]
      .map(([v, l]) => h('option', { value: v, selected: v === f.status }, l)))),
  h('input', { name: 'q', type: 'search', placeholder: 'task id…', value: f.q, 'aria-label': 'Task id contains' }),
  h('button', { type: 'submit' }, 'Filter'));
  for (const s of form.querySelectorAll('select')) s.addEventListener('change', () => form.requestSubmit());
  const pager = r.total > PAGE ? h('div.pager',
    h('button.ghost', { type: 'button', disabled: offset === 0, onclick: () => go({ offset: Math.max(0, offset - PAGE) }) }, '← Previous'),
    h('span.muted', `${offset + 1}–${Math.min(r.total, offset + PAGE)} of ${r.total}`),
    h('button.ghost', { type: 'button', disabled: offset + PAGE >= r.total, onclick: () => go({ offset: offset + PAGE }) }, 'Next →')) : null;
  setMain(h('div.row', h('h1', 'Tasks'), h('span.spacer'), h('span.muted#task-total', `${r.total} task${r.total === 1 ? '' : 's'}`)), form,
    r.tasks.length ? [taskTable(r.tasks), pager]
      : empty('No tasks match.', r.facets.clusters.length ? 'Change the filters above (stopped tasks are kept for an hour).' : 'Run one with `aws ecs run-task --cluster C --task-definition FAMILY`.'));
  return null;
}

// The container's log: the last 200 lines, then followed while the task runs.
function logTail(cluster, task, containers) {
  const box = h('pre.log', { tabindex: '0', 'aria-label': 'Container log', 'aria-live': 'off' });
  const pick = h('select', { 'aria-label': 'Container' }, containers.map((c) => h('option', { value: c.name }, c.name)));
  let ctl = null;
  const follow = async () => {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    box.textContent = '';
    try {
      const r = await apiRaw(`/v1/tasks/${encodeURIComponent(task.taskArn.split('/').pop())}/logs${qs({ cluster, container: pick.value, tail: 200, follow: task.lastStatus !== 'STOPPED' ? 1 : '' })}`, { signal: ctl.signal });
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const stick = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
        box.append(dec.decode(value, { stream: true }));
        if (box.textContent.length > 400000) box.textContent = box.textContent.slice(-300000);
        if (stick) box.scrollTop = box.scrollHeight;
      }
      if (!box.textContent) box.textContent = '(no output)';
    } catch (e) {
      if (e.name !== 'AbortError') box.append(`\n[log unavailable: ${e.message}]`);
    }
  };
  pick.addEventListener('change', follow);
  follow();
  return { el: h('div', h('div.row', h('label', 'Container '), pick, h('span.muted', task.lastStatus === 'STOPPED' ? 'task stopped: the whole log' : 'following live')), box), stop: () => ctl && ctl.abort() };
}

function kv(pairs) {
  return h('dl.kv', pairs.filter(Boolean).map(([k, v]) => [h('dt', k), h('dd', v === undefined || v === null || v === '' ? '—' : v)]));
}

export async function taskPage(cluster, id) {
  setMain(h('h1', `Task ${id.slice(0, 12)}`), h('p.muted', 'Loading…'));
  let t, cat;
  try {
    let r;
    [r, cat] = await Promise.all([ecs('DescribeTasks', { cluster, tasks: [id], include: ['TAGS'] }), catalog()]);
    t = (r.tasks || [])[0];
    if (!t) throw new Error(`Task ${id} is not in cluster ${cluster} (stopped tasks are forgotten after an hour).`);
  } catch (e) {
    setMain(h('h1', `Task ${id.slice(0, 12)}`), errorBox(e, 'the task'));
    return null;
  }
  const group = new ChartGroup();
  const dims = { ClusterName: cluster, TaskId: id };
  const extra = cat.filter((m) => /Network|RunQueue|Runqueue|Sched/i.test(m.name) && m.kinds.includes('container'));
  const stop = canAct() && t.lastStatus !== 'STOPPED' ? h('button.danger', { type: 'button', id: 'stop-task', onclick: async (ev) => {
    ev.target.disabled = true;
    try {
      await ecs('StopTask', { cluster, task: id, reason: 'Stopped from the dashboard' });
      toast(`Stopping task ${id.slice(0, 12)}.`);
      setTimeout(reload, 500);
    } catch (e) {
      ev.target.disabled = false;
      toast(`Stop failed: ${e.message}`, true);
    }
  } }, 'Stop task') : null;
  const containers = t.containers || [];
  const log = logTail(cluster, t, containers);
  setMain(
    h('p.muted', h('a', { href: '#/tasks' }, 'Tasks'), ` / ${cluster} /`),
    h('div.row', h('h1', `Task ${id.slice(0, 12)}`), badge(t.lastStatus), badge(t.healthStatus || 'UNKNOWN'), h('span.spacer'), stop),
    h('div.card', kv([
      ['Task id', id], ['Task definition', shortArn(t.taskDefinitionArn)], ['Group', t.group],
      ['Desired status', t.desiredStatus], ['Started by', t.startedBy],
      ['CPU / memory (task)', `${t.cpu || '—'} units / ${t.memory || '—'} MiB`],
      ['Created', fmtTime(t.createdAt)], ['Started', fmtTime(t.startedAt)],
      t.stoppedAt ? ['Stopped', fmtTime(t.stoppedAt)] : null,
      t.stopCode ? ['Stop code', t.stopCode] : null,
      t.stoppedReason ? ['Stopped reason', t.stoppedReason] : null,
      (t.tags || []).length ? ['Tags', t.tags.map((x) => `${x.key}=${x.value}`).join(', ')] : null,
    ])),
    h('h2', 'Containers'),
    table([
      { label: 'Container', cell: (c) => c.name },
      { label: 'Image', cell: (c) => c.image },
      { label: 'Status', cell: (c) => badge(c.lastStatus) },
      { label: 'Health', cell: (c) => badge(c.healthStatus || 'UNKNOWN') },
      { label: 'Exit code', num: true, cell: (c) => c.exitCode === undefined ? '—' : String(c.exitCode) },
      { label: 'CPU', num: true, cell: (c) => c.cpu ? String(c.cpu) : '—' },
      { label: 'Memory', num: true, cell: (c) => c.memory ? `${c.memory} MiB` : '—' },
      { label: 'Reservation', num: true, cell: (c) => c.memoryReservation ? `${c.memoryReservation} MiB` : '—' },
      { label: 'Reason', wrap: true, cell: (c) => c.reason || '' },
    ], containers),
    h('div.row', h('h2', 'Metrics'), h('span.spacer'), group.picker()),
    h('div.charts',
      group.add({ title: 'Task CPU', unit: 'None', series: [{ label: 'used', metric: 'CpuUtilized', dims }, { label: 'reserved', metric: 'CpuReserved', dims, dash: true }] }),
      group.add({ title: 'Task memory', unit: 'Megabytes', series: [{ label: 'used', metric: 'MemoryUtilized', dims }, { label: 'reserved', metric: 'MemoryReserved', dims, dash: true }] }),
      group.add({ title: 'Storage I/O', unit: 'Bytes', series: [{ label: 'read', metric: 'StorageReadBytes', dims, stat: 'Sum' }, { label: 'write', metric: 'StorageWriteBytes', dims, stat: 'Sum' }] }),
      containers.flatMap((c) => [
        group.add({ title: `${c.name}: CPU`, unit: 'None', series: [{ label: c.name, metric: 'ContainerCpuUtilized', dims: { ...dims, ContainerName: c.name } }] }),
        group.add({ title: `${c.name}: memory`, unit: 'Megabytes', series: [{ label: c.name, metric: 'ContainerMemoryUtilized', dims: { ...dims, ContainerName: c.name } }] }),
        extra.map((m) => group.add({ title: `${c.name}: ${m.name}`, unit: m.unit, series: [{ label: m.name, metric: m.name, dims: { ...dims, ContainerName: c.name } }] })),
      ])),
    extra.length ? null : h('p.muted', 'Network and run-queue latency per container come from the eBPF probes; this berthd reports none yet.'),
    h('h2', 'Log'), log.el);
  group.start();
  return () => { group.destroy(); log.stop(); };
}
