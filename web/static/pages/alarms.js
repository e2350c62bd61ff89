// alarms.js: every alarm's state; an alarm's history timeline and its metric with the threshold
// line and the breaching datapoints; webhook endpoints with their delivery status.
import { api, badge, empty, errorBox, fmtAge, fmtTime, h, qs, session, setMain, table } from '../lib.js';
import { ChartGroup } from '../charts.js';

const OPS = {
  GreaterThanThreshold: ['>', (v, t) => v > t],
  GreaterThanOrEqualToThreshold: ['≥', (v, t) => v >= t],
  LessThanThreshold: ['<', (v, t) => v < t],
  LessThanOrEqualToThreshold: ['≤', (v, t) => v <= t],
};

const notAvailable = () => empty('Alarms are not available on this berthd.',
  'This build or configuration has no alarm evaluator. Metrics, services and tasks work without it.');

function dimsText(a) {
  return (a.Dimensions || []).map((d) => `${d.Name}=${d.Value}`).join(', ');
}

function condition(a) {
  if (a.AlarmRule) return a.AlarmRule;
  const op = (OPS[a.ComparisonOperator] || [a.ComparisonOperator || '?'])[0];
  return `${a.ExtendedStatistic || a.Statistic || ''} ${a.MetricName} ${op} ${a.Threshold} for ${a.DatapointsToAlarm || a.EvaluationPeriods} of ${a.EvaluationPeriods} × ${a.Period} s`;
}

// Webhook endpoints: whatever counters the API reports are shown as columns.
async function webhooks() {
  if (!session.actions) return empty('Webhooks are not available on this berthd.', 'They come with alarm actions.');
  let r;
  try {
    r = await api('/v1/webhooks');
  } catch (e) {
    if (e.status === 404) return empty('Webhooks are not available on this berthd.');
    return errorBox(e, 'webhooks');
  }
  const list = Array.isArray(r) ? r : r.webhooks || r.Webhooks || r.endpoints || r.Endpoints || [];
  if (!list.length) return empty('No webhook endpoints.', 'Add one with berthctl webhook …; alarms then notify it on every state change.');
  const skip = new Set(['secret', 'Secret', 'headers', 'Headers']);
  const keys = [...new Set(list.flatMap((w) => Object.keys(w)))].filter((k) => !skip.has(k)).slice(0, 10);
  const show = (v) => v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v)
    : typeof v === 'number' && v > 1e9 && v < 4e9 ? fmtTime(v) : String(v);
  return table(keys.map((k) => ({ label: k, num: list.every((w) => typeof w[k] === 'number'), wrap: /url|error|reason/i.test(k), cell: (w) => show(w[k]) })), list);
}

export async function alarmsPage() {
  setMain(h('h1', 'Alarms'), h('p.muted', 'Loading…'));
  if (!session.alarms) {
    setMain(h('h1', 'Alarms'), notAvailable(), h('h2', 'Webhooks'), await webhooks());
    return null;
  }
  let r, hooks;
  try {
    [r, hooks] = await Promise.all([api('/v1/alarms'), webhooks()]);
  } catch (e) {
    setMain(h('h1', 'Alarms'), e.status === 404 ? notAvailable() : errorBox(e, 'alarms'));
    return null;
  }
  const all = [...(r.MetricAlarms || []), ...(r.CompositeAlarms || [])];
  const order = { ALARM: 0, INSUFFICIENT_DATA: 1, OK: 2 };
  all.sort((a, b) => (order[a.StateValue] ?? 3) - (order[b.StateValue] ?? 3) || a.AlarmName.localeCompare(b.AlarmName));
  setMain(h('h1', 'Alarms'),
    all.length ? table([
      { label: 'Alarm', cell: (a) => h('a', { href: `#/alarms/${encodeURIComponent(a.AlarmName)}` }, a.AlarmName) },
      { label: 'State', cell: (a) => badge(a.StateValue) },
      { label: 'Since', cell: (a) => a.StateUpdatedTimestamp ? `${fmtAge(Date.parse(a.StateUpdatedTimestamp) / 1000 || a.StateUpdatedTimestamp)} ago` : '—' },
      { label: 'Condition', wrap: true, cell: condition },
      { label: 'Dimensions', wrap: true, cell: dimsText },
    ], all) : empty('No alarms yet.', 'Create one with `berthctl alarm put …` (PutMetricAlarm parameters).'),
    h('h2', 'Webhooks'), hooks);
  return null;
}

export async function alarmPage(name) {
  setMain(h('h1', name), h('p.muted', 'Loading…'));
  let alarm, history;
  try {
    // Only this alarm (the list filter takes a comma-separated list), and its history at once.
    const [r, hist] = await Promise.all([
      api(`/v1/alarms${name.includes(',') ? '' : qs({ alarmNames: name })}`),
      api(`/v1/alarms/${encodeURIComponent(name)}/history`).catch((e) => e)]);
    alarm = [...(r.MetricAlarms || []), ...(r.CompositeAlarms || [])].find((a) => a.AlarmName === name);
    if (!alarm) throw new Error(`There is no alarm named ${name}.`);
    if (hist instanceof Error) throw hist;
    history = hist.AlarmHistoryItems || [];
  } catch (e) {
    setMain(h('h1', name), e.status === 404 ? notAvailable() : errorBox(e, 'the alarm'));
    return null;
  }
  const group = new ChartGroup();
  const dims = Object.fromEntries((alarm.Dimensions || []).map((d) => [d.Name, d.Value]));
  const op = OPS[alarm.ComparisonOperator];
  const chart = alarm.MetricName ? group.add({
    title: `${alarm.MetricName} (${alarm.ExtendedStatistic || alarm.Statistic || 'Average'})`,
    unit: alarm.Unit,
    series: [{ label: alarm.MetricName, metric: alarm.MetricName, dims, stat: alarm.Statistic || 'Average' }],
    threshold: alarm.Threshold,
    breach: op ? (v) => op[1](v, alarm.Threshold) : undefined,
  }) : null;
  history.sort((a, b) => Date.parse(b.Timestamp) - Date.parse(a.Timestamp));
  const cls = (it) => /to ALARM/.test(it.HistorySummary || '') ? 'bad' : /to OK/.test(it.HistorySummary || '') ? 'ok' : '';
  setMain(
    h('p.muted', h('a', { href: '#/alarms' }, 'Alarms'), ' /'),
    h('div.row', h('h1', name), badge(alarm.StateValue)),
    h('div.card', h('p', condition(alarm)), alarm.StateReason ? h('p.muted', alarm.StateReason) : null,
      alarm.AlarmDescription ? h('p', alarm.AlarmDescription) : null),
    chart ? [h('div.row', h('h2', 'Metric'), h('span.spacer'), group.picker()), h('div.charts', chart)] : null,
    h('h2', 'History'),
    history.length ? h('ol.timeline', history.slice(0, 200).map((it) => h(`li${cls(it) ? `.${cls(it)}` : ''}`,
      h('div', h('strong', it.HistoryItemType || ''), ' ', h('span.muted', fmtTime(it.Timestamp))),
      h('div', it.HistorySummary || '')))) : empty('No history yet.', 'State changes and actions appear here.'));
  group.start();
  return () => group.destroy();
}
