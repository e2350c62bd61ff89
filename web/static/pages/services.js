// services.js: the service list (health, counts, sparklines) and a service's detail
// (deployments, events, tasks, charts, scaling policies; desired count, force new deployment).
import { api, badge, canAct, ecs, reload, session, empty, errorBox, fmtAge, fmtTime, h, qs, setMain, shortArn, sparkline, table, toast } from '../lib.js';
import { ChartGroup } from '../charts.js';
import { taskTable } from './tasks.js';

const PAGE = 50;

function health(s) {
  if (s.status !== 'ACTIVE') return badge(s.status);
  if (s.unhealthyCount > 0) return badge('UNHEALTHY');
  if (s.runningCount < s.desiredCount) return badge(s.pendingCount ? 'PENDING' : 'DEGRADED');
  return badge('HEALTHY');
}

export async function servicesPage(params) {
  const cluster = params.get('cluster') || '';
  const offset = Math.max(0, Number(params.get('offset') || 0));
  setMain(h('h1', 'Services'), h('p.muted', 'Loading…'));
  let r;
  try {
    r = await api(`/v1/dashboard/services${qs({ cluster, offset, limit: PAGE })}&sparks=`);
  } catch (e) {
    setMain(h('h1', 'Services'), errorBox(e, 'services'));
    return null;
  }
  // The server sorts by cluster and name and sends only this page (with r.total in all).
  const page = r.services;
  const total = r.total ?? page.length;
  const link = (o) => `#/services${qs({ cluster, offset: o || '' })}`;
  const spark = {};  // cluster/name -> its sparkline, drawn when the sparklines arrive
  const body = total ? [
    table([
      { label: 'Service', cell: (s) => h('a', { href: `#/services/${encodeURIComponent(s.cluster)}/${encodeURIComponent(s.name)}` }, s.name) },
      { label: 'Cluster', cell: (s) => s.cluster },
      { label: 'Health', cell: health },
      { label: 'Desired', num: true, cell: (s) => String(s.desiredCount) },
      { label: 'Running', num: true, cell: (s) => String(s.runningCount) },
      { label: 'Pending', num: true, cell: (s) => String(s.pendingCount) },
      { label: 'Rollout', cell: (s) => s.rolloutState ? badge(s.rolloutState) : '—' },
      { label: 'CPU (30 min)', cell: (s) => (spark[`${s.cluster}/${s.name}`] = sparkline(null, `CPU of ${s.name} over 30 minutes`)) },
      { label: 'Task definition', cell: (s) => shortArn(s.taskDefinition) },
    ], page),
    total > PAGE ? h('div.pager',
      h('a', { href: link(Math.max(0, offset - PAGE)), 'aria-disabled': String(offset === 0) }, '← Previous'),
      h('span.muted', `${offset + 1}–${Math.min(total, offset + PAGE)} of ${total}`),
      offset + PAGE < total ? h('a', { href: link(offset + PAGE) }, 'Next →') : null) : null,
  ] : empty(cluster ? `No services in ${cluster}.` : 'No services yet.',
    'Create one with `aws ecs create-service --cluster C --service-name S --task-definition FAMILY --desired-count N`.');
  setMain(h('div.row', h('h1', 'Services'), h('span.spacer'), cluster ? h('span.muted', `cluster ${cluster} · `, h('a', { href: '#/services' }, 'all clusters')) : null), body);
  // The rows are on screen; now the same page with its CPU sparklines (which may read RRD files).
  const abort = new AbortController();
  if (page.length) {
    api(`/v1/dashboard/services${qs({ cluster, offset, limit: PAGE, sparks: 'cpu' })}`, { signal: abort.signal }).then((sr) => {
      for (const s of sr.services) {
        const old = spark[`${s.cluster}/${s.name}`];
        if (old) old.replaceWith(sparkline(s.cpuSpark, `CPU of ${s.name} over 30 minutes`));
      }
      if (abort.signal.aborted) return;
      document.getElementById('main').dataset.charts = 'ready';
      performance.mark('berth:charts');
    }).catch(() => { /* the rows stay without sparklines */ });
  }
  return () => abort.abort();
}

function deploymentsTable(svc) {
  return table([
    { label: 'Status', cell: (d) => badge(d.status) },
    { label: 'Rollout', cell: (d) => h('span', badge(d.rolloutState || '—'), d.rolloutStateReason ? h('span.muted', ` ${d.rolloutStateReason}`) : null) },
    { label: 'Progress', cell: (d) => h('progress', { max: String(Math.max(1, d.desiredCount)), value: String(Math.min(d.runningCount, d.desiredCount)), 'aria-label': 'running of desired' }) },
    { label: 'Desired', num: true, cell: (d) => String(d.desiredCount) },
    { label: 'Running', num: true, cell: (d) => String(d.runningCount) },
    { label: 'Pending', num: true, cell: (d) => String(d.pendingCount) },
    { label: 'Failed', num: true, cell: (d) => String(d.failedTasks || 0) },
    { label: 'Task definition', cell: (d) => shortArn(d.taskDefinition) },
    { label: 'Updated', cell: (d) => fmtTime(d.updatedAt) },
  ], svc.deployments || []);
}

async function scalingPolicies(cluster, name) {
  if (!session.actions) return empty('Scaling policies are not available on this berthd.', 'They come with alarm actions; the service keeps its desired count meanwhile.');
  try {
    const r = await api(`/v1/scaling/policies${qs({ cluster, service: name })}`);
    const list = (r.ScalingPolicies || r.policies || []).filter((p) => !p.ResourceId || p.ResourceId.includes(`/${name}`));
    if (!list.length) return empty('No scaling policies for this service.', 'Add one with berthctl (scaling policies act on alarms).');
    return table([
      { label: 'Policy', cell: (p) => p.PolicyName || p.name || '—' },
      { label: 'Type', cell: (p) => p.PolicyType || p.type || '—' },
      { label: 'Configuration', wrap: true, cell: (p) => JSON.stringify(p.StepScalingPolicyConfiguration || p.TargetTrackingScalingPolicyConfiguration || p.config || {}) },
      { label: 'Alarms', cell: (p) => (p.Alarms || []).map((a) => a.AlarmName).join(', ') || '—' },
    ], list);
  } catch (e) {
    if (e.status === 404) return empty('Scaling policies are not available on this berthd.', 'They arrive with the alarms module; the service keeps its desired count meanwhile.');
    return errorBox(e, 'scaling policies');
  }
}

export async function servicePage(cluster, name) {
  setMain(h('h1', name), h('p.muted', 'Loading…'));
  let svc, tasks, policies;
  try {
    // The service, its tasks and its scaling policies at once, not one after another.
    let r;
    [r, tasks, policies] = await Promise.all([
      ecs('DescribeServices', { cluster, services: [name] }),
      api(`/v1/dashboard/tasks${qs({ cluster, service: name, limit: 100 })}`).catch(() => null),
      scalingPolicies(cluster, name)]);
    svc = (r.services || [])[0];
    if (!svc) throw new Error(`Service ${name} is not in cluster ${cluster}.`);
  } catch (e) {
    setMain(h('h1', name), errorBox(e, 'the service'));
    return null;
  }
  const group = new ChartGroup();
  const dims = { ClusterName: cluster, ServiceName: name };
  const desired = h('input', { type: 'number', min: '0', max: '1000', value: String(svc.desiredCount), id: 'desired', 'aria-label': 'Desired count', style: undefined });
  const act = async (what, body, msg) => {
    try {
      await ecs('UpdateService', { cluster, service: name, ...body });
      toast(msg);
      setTimeout(reload, 300);
    } catch (e) {
      toast(`${what} failed: ${e.message}`, true);
    }
  };
  const actions = canAct() ? h('form.row.card', { 'aria-label': 'Service actions', onsubmit: (ev) => {
    ev.preventDefault();
    act('Scaling', { desiredCount: Number(desired.value) }, `Desired count of ${name} set to ${desired.value}.`);
  } }, h('label', { for: 'desired' }, 'Desired count'), desired, h('button', { type: 'submit', id: 'scale' }, 'Update'),
  h('span.spacer'), h('button.ghost', { type: 'button', id: 'force', onclick: () => act('Force new deployment', { forceNewDeployment: true }, `New deployment of ${name} started.`) }, 'Force new deployment'))
    : h('p.muted', 'Read-only token: actions are hidden.');
  const events = (svc.events || []).slice(0, 100);
  setMain(
    h('p.muted', h('a', { href: '#/services' }, 'Services'), ` / ${cluster} /`),
    h('div.row', h('h1', name), badge(svc.status), h('span.spacer'),
      h('span.muted', `desired ${svc.desiredCount} · running ${svc.runningCount} · pending ${svc.pendingCount}`)),
    actions,
    h('h2', 'Deployments'), deploymentsTable(svc),
    h('div.row', h('h2', 'Metrics'), h('span.spacer'), group.picker()),
    h('div.charts',
      group.add({ title: 'CPU', unit: 'None', series: [{ label: 'used', metric: 'CpuUtilized', dims }, { label: 'reserved', metric: 'CpuReserved', dims, dash: true }] }),
      group.add({ title: 'Memory', unit: 'Megabytes', series: [{ label: 'used', metric: 'MemoryUtilized', dims }, { label: 'reserved', metric: 'MemoryReserved', dims, dash: true }] }),
      group.add({ title: 'Tasks', unit: 'Count', series: [{ label: 'running', metric: 'RunningTaskCount', dims }, { label: 'pending', metric: 'PendingTaskCount', dims }, { label: 'desired', metric: 'DesiredTaskCount', dims, dash: true }] }),
      group.add({ title: 'Storage I/O', unit: 'Bytes', series: [{ label: 'read', metric: 'StorageReadBytes', dims, stat: 'Sum' }, { label: 'write', metric: 'StorageWriteBytes', dims, stat: 'Sum' }] })),
    h('h2', `Tasks (${tasks ? tasks.total : '?'})`),
    tasks && tasks.tasks.length ? taskTable(tasks.tasks) : empty('No tasks.', svc.desiredCount ? 'The scheduler starts tasks within a second; see the events below.' : 'Set a desired count above 0 to start tasks.'),
    h('h2', 'Scaling policies'), policies,
    h('h2', `Events (${events.length})`),
    events.length ? table([
      { label: 'Time', cell: (e) => h('span', { title: fmtTime(e.createdAt) }, `${fmtAge(e.createdAt)} ago`) },
      { label: 'Message', wrap: true, cell: (e) => e.message },
    ], events) : empty('No events yet.'));
  group.start();
  return () => group.destroy();
}
