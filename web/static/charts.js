// charts.js: time-series charts (Chart.js from Debian's libjs-chart.js) over /v1/metrics/query,
// a shared time range per page (1 h, 6 h, 1 d, 7 d, 30 d or custom) and live refresh at the
// collect interval.
import { api, h, qs, session } from './lib.js';

// Chart.js (~450 KB of script) is loaded on the first chart, not with the page: a page shows
// its tables while the library loads, and pages without charts never load it.
let chartLib = null;
function loadChart() {
  if (!chartLib) {
    chartLib = import('/javascript/chart.js/chart.mjs').then(({ Chart, registerables }) => {
      Chart.register(...registerables);
      Chart.defaults.animation = false;
      Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
      Chart.defaults.color = getComputedStyle(document.documentElement).getPropertyValue('--muted').trim() || '#5b6778';
      return Chart;
    });
    chartLib.catch(() => { chartLib = null; });
  }
  return chartLib;
}

export const RANGES = [['1h', 3600], ['6h', 6 * 3600], ['1d', 86400], ['7d', 7 * 86400], ['30d', 30 * 86400]];
const PERIODS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 10800, 21600, 86400];
const COLORS = ['#1f77b4', '#e07b00', '#2ca02c', '#9467bd', '#8c564b', '#d62728', '#17becf', '#7f7f7f'];

// Units on axes: the metric's CloudWatch unit in words people read.
const UNIT_LABELS = { None: 'CPU units', Megabytes: 'MiB', Bytes: 'bytes / interval', Count: 'tasks',
  Percent: '%', 'Bytes/Second': 'bytes/s', Microseconds: 'µs', Seconds: 's' };

export function periodFor(span) {
  const want = span / 240;
  const min = session.collectInterval || 1;
  return PERIODS.find((p) => p >= want && p >= min) || 86400;
}

function tickTime(span) {
  return (v) => {
    const d = new Date(v);
    if (span <= 86400) return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
    return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' }) +
      (span <= 7 * 86400 ? ` ${d.toLocaleTimeString(undefined, { hour: '2-digit' })}` : '');
  };
}

function isoLocal(t) {
  const d = new Date(t * 1000 - new Date().getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

// Fetches one series: [{x: ms, y}] oldest first.
export async function fetchSeries(metric, dims, start, end, period, stat = 'Average', signal) {
  const r = await api(`/v1/metrics/query${qs({ metric, ...dims, start: Math.floor(start),
    end: Math.ceil(end), period, statistics: stat })}`, { signal });
  return (r.Datapoints || []).map((d) => ({ x: Date.parse(d.Timestamp), y: d[stat], unit: d.Unit }))
    .sort((a, b) => a.x - b.x);
}

// One page's charts: a range picker, the charts, their refresh timer.
export class ChartGroup {
  constructor() {
    this.span = 3600;
    this.fixed = null;              // {start, end} for a custom range
    this.charts = [];
    this.timer = null;
    this.abort = new AbortController();
    this.first = [];                // each chart's first load
  }

  window() {
    if (this.fixed) return this.fixed;
    const end = Date.now() / 1000;
    return { start: end - this.span, end };
  }

  picker() {
    const buttons = RANGES.map(([label, span]) => h('button.seg', {
      type: 'button', 'aria-pressed': String(span === this.span && !this.fixed), 'data-range': label,
      onclick: () => { this.fixed = null; this.span = span; mark(label); custom.hidden = true; this.refresh(); },
    }, label));
    const from = h('input', { type: 'datetime-local', 'aria-label': 'From' });
    const to = h('input', { type: 'datetime-local', 'aria-label': 'To' });
    const custom = h('span.row', { hidden: true }, from, to, h('button', {
      type: 'button',
      onclick: () => {
        const s = Date.parse(from.value) / 1000, e = Date.parse(to.value) / 1000;
        if (!(s < e)) { from.setCustomValidity('From must be before To'); from.reportValidity(); return; }
        from.setCustomValidity('');
        this.fixed = { start: s, end: e };
        this.span = e - s;
        this.refresh();
      },
    }, 'Apply'));
    const customBtn = h('button.seg', { type: 'button', 'aria-pressed': 'false', 'data-range': 'custom',
      onclick: () => {
        const w = this.window();
        from.value = isoLocal(w.start); to.value = isoLocal(w.end);
        custom.hidden = false; mark('custom'); from.focus();
      } }, 'Custom');
    const mark = (label) => {
      for (const b of [...buttons, customBtn]) b.setAttribute('aria-pressed', String(b.dataset.range === label));
    };
    this.liveNote = h('span.muted', '');
    return h('div.ranges', { role: 'group', 'aria-label': 'Time range' }, h('span.muted', 'Range:'),
      buttons, customBtn, custom, this.liveNote);
  }

  // spec: {title, unit, series: [{label, metric, dims, stat}], threshold, breach(v) -> bool}
  add(spec) {
    const canvas = h('canvas', { role: 'img', 'aria-label': spec.title });
    const note = h('div.note', 'Loading…');
    const el = h('div.card.chart', { 'data-chart': spec.title }, h('div.head', h('h3', spec.title)), canvas, note);
    const config = {
      type: 'line',
      data: { datasets: [] },
      options: {
        responsive: true, maintainAspectRatio: false, parsing: false, normalized: true,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        plugins: {
          legend: { display: true, labels: { boxWidth: 10 } },
          tooltip: {
            callbacks: {
              title: (items) => items.length ? new Date(items[0].parsed.x).toLocaleString() : '',
              label: (item) => `${item.dataset.label}: ${Number(item.parsed.y).toLocaleString(undefined, { maximumFractionDigits: 2 })} ${spec.unitLabel || ''}`,
            },
          },
        },
        scales: {
          x: { type: 'linear', ticks: { callback: tickTime(3600), maxTicksLimit: 8 }, title: { display: true, text: 'time' } },
          y: { beginAtZero: true, title: { display: true, text: spec.unitLabel || UNIT_LABELS[spec.unit] || spec.unit || '' } },
        },
        elements: { point: { radius: 0, hitRadius: 6 }, line: { borderWidth: 1.6, tension: 0 } },
      },
    };
    // The Chart itself once the library is loaded (entry.chart stays null until then).
    const entry = { spec, chart: null, note, el, canvas, config };
    this.charts.push(entry);
    this.first.push(this.load(entry));
    return el;
  }

  async load(entry) {
    const { spec, note } = entry;
    const w = this.window();
    const period = periodFor(w.end - w.start);
    try {
      const [Chart, all] = await Promise.all([loadChart(), Promise.all(spec.series.map((s) =>
        fetchSeries(s.metric, s.dims, w.start, w.end, period, s.stat || 'Average', this.abort.signal)))]);
      if (this.abort.signal.aborted) return;
      if (!entry.chart) entry.chart = new Chart(entry.canvas, entry.config);
      const { chart } = entry;
      const sets = all.map((pts, i) => ({
        label: spec.series[i].label, data: pts, borderColor: COLORS[i % COLORS.length],
        backgroundColor: COLORS[i % COLORS.length], borderDash: spec.series[i].dash ? [5, 4] : undefined,
      }));
      const unit = all.flat().find((p) => p.unit)?.unit;
      if (!spec.unitLabel && unit) chart.options.scales.y.title.text = UNIT_LABELS[unit] || unit;
      if (spec.threshold !== undefined && spec.threshold !== null) {
        sets.push({ label: `threshold ${spec.threshold}`, data: [{ x: w.start * 1000, y: spec.threshold }, { x: w.end * 1000, y: spec.threshold }],
          borderColor: '#c0362c', borderDash: [6, 4], borderWidth: 1.2, pointRadius: 0 });
        const breach = all[0].filter((p) => spec.breach && spec.breach(p.y));
        sets.push({ label: 'breaching', data: breach, showLine: false, pointRadius: 4,
          pointStyle: 'crossRot', borderColor: '#c0362c', backgroundColor: '#c0362c' });
      }
      chart.data.datasets = sets;
      chart.options.scales.x.min = w.start * 1000;
      chart.options.scales.x.max = w.end * 1000;
      chart.options.scales.x.ticks.callback = tickTime(w.end - w.start);
      chart.update('none');
      const points = all.reduce((n, s) => n + s.length, 0);
      entry.el.dataset.points = String(points);
      note.textContent = points ? '' : 'No data in this range yet. Samples arrive every ' +
        `${session.collectInterval} s while tasks run; older data comes from the RRD files.`;
    } catch (e) {
      if (e.name === 'AbortError') return;
      note.textContent = `Cannot load: ${e.message}`;
    }
  }

  refresh() {
    for (const c of this.charts) this.load(c);
  }

  // Live refresh at the collect interval while the range ends now.
  start() {
    clearInterval(this.timer);
    // Once every chart has its first data: main's data-charts and a 'berth:charts' mark.
    const signal = this.abort.signal;
    Promise.all(this.first).then(() => {
      const main = document.getElementById('main');
      if (signal.aborted || !main) return;
      main.dataset.charts = 'ready';
      performance.mark('berth:charts');
    });
    const every = Math.max(1, session.collectInterval || 5) * 1000;
    this.timer = setInterval(() => { if (!this.fixed && !document.hidden) this.refresh(); }, every);
    if (this.liveNote) this.liveNote.textContent = `live, every ${session.collectInterval} s`;
  }

  destroy() {
    clearInterval(this.timer);
    this.abort.abort();
    for (const c of this.charts) if (c.chart) c.chart.destroy();
    this.charts = [];
  }
}

// A bar chart (billing): labels, datasets [{label, data}], a y-axis unit. The element comes back
// at once; the chart is drawn into it when Chart.js has loaded (el.ready resolves then) and
// el.destroy() releases it.
export function barChart(labels, datasets, unit) {
  const canvas = h('canvas', { role: 'img', 'aria-label': `Cost by group (${unit})` });
  const el = h('div.card.chart', { 'data-chart': 'billing' }, canvas);
  let chart = null, gone = false;
  el.ready = loadChart().then((Chart) => {
    if (gone) return;
    chart = new Chart(canvas, {
      type: 'bar',
      data: { labels, datasets: datasets.map((d, i) => ({ ...d, backgroundColor: COLORS[i % COLORS.length] })) },
      options: {
        responsive: true, maintainAspectRatio: false,
        plugins: { tooltip: { callbacks: { label: (i) => `${i.dataset.label}: $${Number(i.parsed.y).toFixed(2)}` } } },
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: unit } } },
      },
    });
    el.dataset.drawn = '1';
  });
  el.destroy = () => { gone = true; if (chart) chart.destroy(); };
  return el;
}
