// SPDX-License-Identifier: MIT
// bench.mjs: how long each dashboard page takes to become usable in Debian's headless Chromium
// (playwright-core): from navigation start (a fresh page load) to the page's 'berth:ready' mark
// (its main content on screen with data), and to 'berth:charts' (every chart's first series
// drawn); with the API calls the page made, their bytes and berthd's own time (Server-Timing).
// Prints one table; asserts nothing. Used by tests/bench/dashboard.sh.
// Env: BERTH_URL, BERTH_TOKEN, BENCH_LABEL (e.g. "1000 tasks"), BENCH_PAGES (JSON
// [[name, hash], ...]), BENCH_RUNS (loads per page after one warm-up; default 10).
import { chromium } from 'playwright-core';
import { readdirSync, readFileSync } from 'node:fs';

const URL = process.env.BERTH_URL;
const LABEL = process.env.BENCH_LABEL || '';
const PAGES = JSON.parse(process.env.BENCH_PAGES || '[["overview", "/"]]');
const RUNS = Number(process.env.BENCH_RUNS || 10);

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};
const pct = (a, p) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN;
};
const fmt = (v, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : '-');
// The slowest load's requests, one line each: ms from navigation start to the request leaving
// (queued before that), to its first byte, to its end, and berthd's own time for it.
function traceLines(name, run) {
  const at = new Date(run.origin).toISOString().slice(11, 23);
  const out = [`#   slowest ${name}: ${fmt(run.ready)} ms, DOMContentLoaded ${fmt(run.dcl)} ms, started ${at} UTC; request: start sent first-byte end (berthd ms)`];
  for (const e of run.trace) {
    out.push(`#     ${e.path.slice(0, 40).padEnd(40)} ${fmt(e.start).padStart(5)} ${fmt(e.sent).padStart(5)} ${fmt(e.first).padStart(5)} ${fmt(e.end).padStart(5)}${e.app ? ` (${fmt(e.app, 1)})` : ''}${e.cached ? ' cached' : ''}`);
  }
  return out;
}

// One fresh load of a page: its timings and the requests it made until it was usable.
// CPU time (user + system, ms) of processes from /proc: what a load costs, which the other load
// on a shared machine distorts far less than wall-clock figures. ticks() maps pid -> ticks.
const HZ = 100;
function ticks() {
  const out = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      out.set(Number(d), { ppid: Number(f[1]), t: Number(f[11]) + Number(f[12]) });
    } catch { /* exited meanwhile */ }
  }
  return out;
}
// The pids of root and its descendants in a ticks() snapshot.
function tree(snap, root) {
  const pids = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, p] of snap) if (!pids.has(pid) && pids.has(p.ppid)) { pids.add(pid); grew = true; }
  }
  return pids;
}
// CPU ms of the pids (from the later snapshot) between two snapshots; a process that started
// in between counts from 0.
function cpuBetween(a, b, pids) {
  let t = 0;
  for (const pid of pids) if (b.has(pid)) t += b.get(pid).t - (a.has(pid) ? a.get(pid).t : 0);
  return (t * 1000) / HZ;
}
// berthd is the process listening on BERTH_URL's port.
function berthdPid() {
  const port = new globalThis.URL(URL).port;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (cmd[0].endsWith('berthd') && cmd.includes(`127.0.0.1:${port}`)) return Number(d);
    } catch { /* exited meanwhile */ }
  }
  return 0;
}
// Playwright's Browser (from chromium.launch) does not expose its process: Chromium's browser
// process is the chromium child of this node process.
function chromiumPid() {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && /chrom/.test(st.slice(st.indexOf('(') + 1, st.lastIndexOf(')')))) return Number(d);
    } catch { /* exited meanwhile */ }
  }
  return 0;
}
let browserPid = 0;
let serverPid = 0;

// The renderer's main-thread busy time (CDP Performance.TaskDuration, seconds, cumulative):
// the CPU a load costs the browser, which other load on the machine distorts far less than the
// wall-clock figures.
async function busy(cdp) {
  const { metrics } = await cdp.send('Performance.getMetrics');
  return (metrics.find((m) => m.name === 'TaskDuration') || { value: NaN }).value * 1000;
}

async function load(page, cdp, hash) {
  await page.goto('about:blank');
  const before = await busy(cdp);
  const t0 = ticks();
  await page.goto(`${URL}/#${hash}`);
  await page.waitForSelector('#main[data-ready]', { timeout: 60000 });
  const atReady = await busy(cdp);
  const hasCharts = await page.evaluate(() => document.querySelectorAll('svg.spark').length > 0 ||
    (document.querySelectorAll('[data-chart] canvas').length > 0 && !document.querySelector('[data-chart="billing"]')));
  if (hasCharts) await page.waitForSelector('#main[data-charts]', { timeout: 60000 }).catch(() => null);
  const atCharts = await busy(cdp);
  const t1 = ticks();
  const browserCpu = cpuBetween(t0, t1, tree(t1, browserPid));
  const serverCpu = serverPid ? cpuBetween(t0, t1, new Set([serverPid])) : NaN;
  // A navigation may move the page to a new renderer, whose counter starts again at 0.
  const cpu = (x) => (x >= before ? x - before : x);
  const r = await page.evaluate(() => {
    const mark = (n) => { const m = performance.getEntriesByName(n); return m.length ? m[m.length - 1].startTime : NaN; };
    const ready = mark('berth:ready');
    const res = performance.getEntriesByType('resource');
    const api = res.filter((e) => {
      const p = new URL(e.name).pathname;
      return (p.startsWith('/v1/') || p === '/') && e.startTime <= ready;
    });
    const charts = res.filter((e) => new URL(e.name).pathname === '/v1/metrics/query');
    const app = (e) => { const t = (e.serverTiming || []).find((x) => x.name === 'app'); return t ? t.duration : 0; };
    const assets = res.filter((e) => /\/(static|javascript)\//.test(e.name));
    return {
      ready,
      charts: mark('berth:charts'),
      dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
      apiCalls: api.length,
      apiBytes: api.reduce((n, e) => n + e.encodedBodySize, 0),
      apiServer: api.reduce((n, e) => Math.max(n, app(e)), 0),
      apiLargest: api.reduce((m, e) => (e.encodedBodySize > m.size ? { size: e.encodedBodySize, path: new URL(e.name).pathname } : m), { size: 0, path: '' }),
      chartCalls: charts.length,
      chartServer: charts.reduce((n, e) => Math.max(n, app(e)), 0),
      assets: assets.length,
      assetBytes: assets.reduce((n, e) => n + e.transferSize, 0),
      rows: document.querySelectorAll('#main tbody tr').length,
      // Where the time went (for the slowest load): the document and every request until usable,
      // each as start / request sent / first byte / end (ms from navigation start) and berthd's time.
      origin: performance.timeOrigin,
      trace: [performance.getEntriesByType('navigation')[0], ...res.filter((e) => e.startTime <= ready)].map((e) => ({
        path: e.entryType === 'navigation' ? '(document)' : new URL(e.name).pathname.replace(/^\/(static|javascript)\/.*\//, '$1/'),
        start: e.startTime, sent: e.requestStart, first: e.responseStart, end: e.responseEnd, app: app(e),
        cached: e.transferSize === 0 && e.encodedBodySize > 0,
      })),
    };
  });
  return { ...r, cpuReady: cpu(atReady), cpuAll: cpu(atCharts), browserCpu, serverCpu };
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
browserPid = chromiumPid();
serverPid = berthdPid();
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Performance.enable');
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const r = await page.request.post(`${URL}/v1/session`, { headers: { 'Content-Type': 'application/json' }, data: JSON.stringify({ token: process.env.BERTH_TOKEN }) });
  if (r.status() !== 200) throw new Error(`sign-in: HTTP ${r.status()}`);
  console.log(`# dashboard in headless Chromium, ${LABEL}: median of ${RUNS} fresh loads after one warm-up`);
  console.log('# usable/p90/max/charts/DOMload: ms from navigation start to the page usable (median, 90th percentile, slowest; target 500),');
  console.log('# its charts drawn (median), DOMContentLoaded (median);');
  console.log('# main: renderer main-thread busy ms (CDP TaskDuration) until the charts; chrome, berthd: CPU ms (/proc utime+stime) of all');
  console.log('# Chromium processes and of berthd during the load; api: calls until usable, their KiB, slowest berthd time (Server-Timing)');
  console.log(`${'page'.padEnd(16)} ${'usable'.padStart(7)} ${'p90'.padStart(6)} ${'max'.padStart(6)} ${'charts'.padStart(7)} ${'DOMload'.padStart(7)} ${'main'.padStart(5)} ${'chrome'.padStart(6)} ${'berthd'.padStart(6)} ${'rows'.padStart(5)} ${'api'.padStart(4)} ${'api KiB'.padStart(8)} ${'srv ms'.padStart(7)} ${'largest API answer'.padEnd(34)} ${'chart q'.padStart(7)} ${'q srv'.padStart(6)} ${'assets'.padStart(6)} ${'KiB'.padStart(5)}`);
  const traces = [];
  for (const [name, hash] of PAGES) {
    await load(page, cdp, hash);
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await load(page, cdp, hash));
    const last = runs[runs.length - 1];
    const m = (k) => median(runs.map((x) => x[k]));
    const slowest = runs.reduce((a, b) => (b.ready > a.ready ? b : a));
    traces.push(...traceLines(name, slowest));
    console.log(`${name.padEnd(16)} ${fmt(m('ready')).padStart(7)} ${fmt(pct(runs.map((x) => x.ready), 90)).padStart(6)} ${fmt(slowest.ready).padStart(6)} ${fmt(m('charts')).padStart(7)} ${fmt(m('dcl')).padStart(7)} ${fmt(m('cpuAll')).padStart(5)} ${fmt(m('browserCpu')).padStart(6)} ${fmt(m('serverCpu')).padStart(6)} ${String(last.rows).padStart(5)} ${String(last.apiCalls).padStart(4)} ${fmt(last.apiBytes / 1024, 1).padStart(8)} ${fmt(m('apiServer'), 2).padStart(7)} ${`${last.apiLargest.path} ${fmt(last.apiLargest.size / 1024, 1)}K`.padEnd(34)} ${String(last.chartCalls).padStart(7)} ${fmt(m('chartServer'), 2).padStart(6)} ${String(last.assets).padStart(6)} ${fmt(last.assetBytes / 1024).padStart(5)}`);
  }
  // Sign-in: a fresh browser context (no cookie) is sent to /signin; the form is usable at
  // DOMContentLoaded; then from the click to the overview's 'berth:ready'.
  const form = [], through = [], landing = [], gap = [];
  for (let i = 0; i <= RUNS; i++) {
    const c2 = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const p2 = await c2.newPage();
    p2.on('pageerror', (e) => errors.push(e.message));
    await p2.goto(`${URL}/`);
    await p2.waitForSelector('#token');
    const dcl = await p2.evaluate(() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd);
    await p2.fill('#token', process.env.BERTH_TOKEN);
    const t = Date.now();
    await p2.click('button[type=submit]');
    await p2.waitForSelector('#main[data-ready]', { timeout: 60000 });
    const [landed, origin] = await p2.evaluate(() => [performance.getEntriesByName('berth:ready')[0].startTime, performance.timeOrigin]);
    if (i) { form.push(dcl); through.push(Date.now() - t); landing.push(landed); gap.push(origin - t); }
    await c2.close();
  }
  console.log(`${'sign-in'.padEnd(16)} ${fmt(median(form)).padStart(7)} ${fmt(pct(form, 90)).padStart(6)} ${fmt(Math.max(...form)).padStart(6)}   (form usable; submit -> overview usable: median ${fmt(median(through))} ms, max ${fmt(Math.max(...through))} ms, of which click to the overview's navigation ${fmt(median(gap))} ms and its own load ${fmt(median(landing))} ms)`);
  for (const l of traces) console.log(l);
  if (errors.length) console.log(`# page errors: ${errors.join('; ')}`);
} finally {
  await browser.close();
}
