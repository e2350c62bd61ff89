// overview.js: clusters and their counts, reserved vs used CPU and memory, alarms in ALARM,
// cost today and this month, BPF and cgroup status.
import { api, badge, empty, errorBox, fmtAge, fmtNum, h, money, qs, session, setMain, table } from '../lib.js';
import { ChartGroup } from '../charts.js';

function stat(label, value, hint) {
  return h('div.card.stat', h('div.l', label), h('div.v', value), hint ? h('div.muted', hint) : null);
}

async function alarmCount() {
  if (!session.alarms) return stat('Alarms in ALARM', '—', 'Alarms are not enabled on this berthd.');
  try {
    const r = await api('/v1/alarms');
    const all = [...(r.MetricAlarms || []), ...(r.CompositeAlarms || [])];
    const firing = all.filter((a) => a.StateValue === 'ALARM');
    return stat('Alarms in ALARM', String(firing.length), all.length ? `of ${all.length}: ${firing.map((a) => a.AlarmName).join(', ') || 'none firing'}` : 'No alarms defined yet.');
  } catch (e) {
    return stat('Alarms in ALARM', '—', e.status === 404 ? 'Alarms are not available on this berthd.' : e.message);
  }
}

function utcDay(d) { return d.toISOString().slice(0, 10); }

async function cost() {
  if (!session.billing) return [stat('Cost today', '—', 'Billing is not enabled on this berthd.'), stat('Cost this month', '—')];
  const now = new Date();
  const day = utcDay(now);
  const month = `${day.slice(0, 7)}-01`;
  const tomorrow = utcDay(new Date(now.getTime() + 86400000));
  const nextMonth = utcDay(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)));
  const one = async (start, end) => {
    try {
      const r = await api(`/v1/billing/report${qs({ start, end, group_by: 'cluster', granularity: 'monthly', format: 'json' })}`);
      return money(r.totals ? r.totals.reservedCost : undefined);
    } catch (e) {
      return e.status === 404 ? 'n/a' : '—';
    }
  };
  const [today, mtd] = await Promise.all([one(day, tomorrow), one(month, nextMonth)]);
  return [stat('Cost today', today, 'reserved capacity, UTC day'), stat('Cost this month', mtd, `since ${month}`)];
}

export async function overviewPage() {
  setMain(h('h1', 'Overview'), h('p.muted', 'Loading…'));
  let ov;
  try {
    ov = await api('/v1/dashboard/overview');
  } catch (e) {
    setMain(h('h1', 'Overview'), errorBox(e, 'the overview'));
    return null;
  }
  Object.assign(session, { alarms: ov.alarms, billing: ov.billing });
  const host = ov.host;
  // Alarms and costs fill their cards when they arrive (a month's report can take a while):
  // the clusters do not wait for them.
  const alarms = stat('Alarms in ALARM', '…');
  const costs = [stat('Cost today', '…'), stat('Cost this month', '…')];
  alarmCount().then((c) => alarms.replaceWith(c));
  cost().then((cs) => costs.forEach((el, i) => el.replaceWith(cs[i])));
  const running = ov.clusters.reduce((n, c) => n + c.runningTasks, 0);
  const stats = h('div.grid',
    stat('Running tasks', String(running), `${ov.clusters.length} cluster${ov.clusters.length === 1 ? '' : 's'}`),
    alarms, costs,
    stat('cgroups', host.cgroupMode, `parent ${host.cgroupParent}`),
    stat('eBPF probes', host.bpf.available ? 'on' : 'off', host.bpf.reason),
    stat('berthd', host.version, `up ${fmtAge(Date.now() / 1000 - host.uptimeSeconds)}, samples every ${host.collectInterval} s`));

  const clusters = ov.clusters.length ? table([
    { label: 'Cluster', cell: (c) => h('a', { href: `#/tasks?cluster=${encodeURIComponent(c.name)}` }, c.name) },
    { label: 'Status', cell: (c) => badge(c.status) },
    { label: 'Running', num: true, cell: (c) => String(c.runningTasks) },
    { label: 'Pending', num: true, cell: (c) => String(c.pendingTasks) },
    { label: 'Desired', num: true, cell: (c) => String(c.desiredTasks) },
    { label: 'Services', num: true, cell: (c) => h('a', { href: `#/services?cluster=${encodeURIComponent(c.name)}` }, String(c.activeServices)) },
    { label: 'CPU used / reserved', num: true, cell: (c) => `${fmtNum(c.cpuUtilized, 0)} / ${fmtNum(c.cpuReserved, 0)} units` },
    { label: 'Memory used / reserved', num: true, cell: (c) => `${fmtNum(c.memoryUtilized, 0)} / ${fmtNum(c.memoryReserved, 0)} MiB` },
  ], ov.clusters) : empty('No clusters yet.', 'Create one with `aws ecs create-cluster --cluster-name NAME` (or berthctl ecs create-cluster) and run a task in it.');

  const group = new ChartGroup();
  const active = ov.clusters.filter((c) => c.status === 'ACTIVE');
  const charts = active.length ? h('div.charts', active.slice(0, 4).flatMap((c) => [
    group.add({ title: `${c.name}: CPU reserved vs used`, unit: 'None', series: [
      { label: 'used', metric: 'CpuUtilized', dims: { ClusterName: c.name } },
      { label: 'reserved', metric: 'CpuReserved', dims: { ClusterName: c.name }, dash: true }] }),
    group.add({ title: `${c.name}: memory reserved vs used`, unit: 'Megabytes', series: [
      { label: 'used', metric: 'MemoryUtilized', dims: { ClusterName: c.name } },
      { label: 'reserved', metric: 'MemoryReserved', dims: { ClusterName: c.name }, dash: true }] }),
  ])) : null;
  setMain(h('h1', 'Overview'), stats, h('h2', 'Clusters'), clusters,
    charts ? [h('div.row', h('h2', 'Capacity'), h('span.spacer'), group.picker()), charts] : null);
  group.start();
  return () => group.destroy();
}
