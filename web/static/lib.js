// lib.js: what every page shares - the session, API calls (REST /v1 and the ECS API, both with
// the session cookie and its CSRF token), DOM building, formatting and empty/error states.
export const session = { csrfToken: '', role: '', name: '', collectInterval: 5, alarms: false, billing: false, actions: false };

export class ApiError extends Error {
  constructor(status, type, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.type = type || '';
  }
}

// The reads of the page on screen. Leaving the page (or signing out) aborts them, and a page's
// own read that was aborted never settles: a page that was left stops where it was instead of
// drawing an error over the next one (or calling with a session that has ended).
let pageAbort = new AbortController();
export function leavePage() {
  pageAbort.abort();
  pageAbort = new AbortController();
}
const never = () => new Promise(() => {});

async function send(path, init) {
  init.credentials = 'same-origin';
  init.headers = init.headers || {};
  if (init.method && init.method !== 'GET') init.headers['X-CSRF-Token'] = session.csrfToken;
  const pageBound = !init.signal && (init.read ?? (!init.method || init.method === 'GET'));
  if (pageBound) init.signal = pageAbort.signal;
  let r;
  try {
    r = await fetch(path, init);
  } catch (e) {
    if (pageBound && init.signal.aborted) return never();
    throw e;
  }
  if (pageBound) r.pageSignal = init.signal;
  if (r.ok) return r;
  const e = await r.json().catch(() => ({}));
  if (e.__type === 'InvalidSessionException' || e.__type === 'MissingAuthenticationTokenException') {
    location.replace('/signin');
  }
  throw new ApiError(r.status, e.__type, e.message);
}

// GET/POST/DELETE a REST path; the parsed JSON answer.
export async function api(path, { method = 'GET', body, signal } = {}) {
  const init = { method, signal };
  if (body !== undefined) {
    init.headers = { 'Content-Type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const r = await send(path, init);
  try {
    return await r.json();
  } catch (e) {
    if (r.pageSignal && r.pageSignal.aborted) return never();
    throw e;
  }
}

// The raw response (streams, CSV).
export function apiRaw(path, { signal } = {}) {
  return send(path, { method: 'GET', signal });
}

// One ECS API operation, exactly as the aws CLI sends it.
export async function ecs(op, body = {}) {
  const r = await send('/', {
    method: 'POST',
    read: /^(Describe|List)/.test(op),
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': `AmazonEC2ContainerServiceV20141113.${op}`,
    },
    body: JSON.stringify(body),
  });
  try {
    return await r.json();
  } catch (e) {
    if (r.pageSignal && r.pageSignal.aborted) return never();
    throw e;
  }
}

export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, v);
  const s = u.toString();
  return s ? `?${s}` : '';
}

// h('div.card#id', {attrs}, children...): a small element builder (text is never parsed as HTML).
export function h(tag, attrs, ...children) {
  const m = tag.match(/^([a-z0-9]+)((?:[.#][\w-]+)*)$/i);
  const el = document.createElement(m ? m[1] : tag);
  if (m && m[2]) for (const part of m[2].match(/[.#][\w-]+/g)) {
    if (part[0] === '.') el.classList.add(part.slice(1)); else el.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function empty(title, hint) {
  return h('div.empty', h('strong', title), hint ? h('span', hint) : null);
}

export function errorBox(e, what) {
  const msg = e instanceof ApiError ? `${e.message}${e.type ? ` (${e.type})` : ''}` : String(e.message || e);
  return h('div.empty', { role: 'alert' }, h('strong.error', `Cannot load ${what}.`),
    h('span', `${msg} Check that berthd is running and reload the page.`));
}

export function toast(msg, bad = false) {
  const t = h(bad ? 'div.bad' : 'div', msg);
  document.getElementById('toast').append(t);
  setTimeout(() => t.remove(), bad ? 8000 : 4000);
}

export function fmtTime(t) {
  if (t === undefined || t === null || t === '') return '—';
  const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric',
    hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function fmtAge(t) {
  if (!t) return '—';
  const s = Math.max(0, Date.now() / 1000 - t);
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

export function fmtNum(v, digits = 1) {
  if (v === undefined || v === null || Number.isNaN(v)) return '—';
  return Number(v).toLocaleString(undefined, { maximumFractionDigits: digits });
}

// Dollars from the API's decimal strings; small amounts keep more digits so they do not read 0.
export function money(v, digits = 2) {
  if (v === undefined || v === null || v === '') return '—';
  const n = Number(v);
  if (Number.isNaN(n)) return String(v);
  const d = n !== 0 && Math.abs(n) < 1 ? Math.max(digits, 4) : digits;
  return `$${n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })}`;
}

const GOOD = ['RUNNING', 'HEALTHY', 'ACTIVE', 'COMPLETED', 'OK', 'PRIMARY', 'Succeeded', 'ok'];
const WARN = ['PENDING', 'PROVISIONING', 'ACTIVATING', 'IN_PROGRESS', 'DRAINING', 'DEACTIVATING',
  'STOPPING', 'DEPROVISIONING', 'INSUFFICIENT_DATA', 'UNKNOWN'];
const BAD = ['UNHEALTHY', 'FAILED', 'ALARM', 'Failed', 'failed'];

export function badge(text) {
  const cls = GOOD.includes(text) ? 'ok' : WARN.includes(text) ? 'warn' : BAD.includes(text) ? 'bad' : '';
  return h(`span.badge${cls ? `.${cls}` : ''}`, text || '—');
}

// A table; columns [{label, num, cell(row) -> node|string}], optional footer row nodes.
export function table(columns, rows, { caption, footer } = {}) {
  return h('div.tablewrap', h('table',
    caption ? h('caption.muted', { class: 'muted' }, caption) : null,
    h('thead', h('tr', columns.map((c) => h(c.num ? 'th.num' : 'th', { scope: 'col' }, c.label)))),
    h('tbody', rows.map((r) => h('tr', columns.map((c) => h(c.num ? 'td.num' : c.wrap ? 'td.wrap' : 'td', c.cell(r)))))),
    footer ? h('tfoot', h('tr', footer.map((f, i) => h(columns[i] && columns[i].num ? 'td.num' : 'td', f)))) : null));
}

// Tiny SVG line of [[t, v], ...].
export function sparkline(points, label) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('viewBox', '0 0 120 28');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  if (!points || points.length < 2) return svg;
  const t0 = points[0][0], t1 = points[points.length - 1][0];
  const max = Math.max(...points.map((p) => p[1]), 1e-9);
  const pl = document.createElementNS(ns, 'polyline');
  pl.setAttribute('points', points.map((p) =>
    `${(((p[0] - t0) / (t1 - t0 || 1)) * 118 + 1).toFixed(1)},${(27 - (p[1] / max) * 25).toFixed(1)}`).join(' '));
  svg.append(pl);
  return svg;
}

export function setMain(...nodes) {
  const main = document.getElementById('main');
  main.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
}

export function shortArn(arn) {
  return arn ? arn.replace(/^arn:aws:ecs:[^:]*:[^:]*:/, '') : '—';
}

export function canAct() {
  return session.role !== 'read-only';
}

// Renders the current page again (after an action), running its cleanup first.
export function reload() {
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

let catalogCache = null;
// The metrics berthd knows: [{name, unit, kinds: ['task', 'container', ...]}].
export async function catalog() {
  // Its own signal: the cache outlives the page that asked first, so leaving it must not abort it.
  if (!catalogCache) catalogCache = api('/v1/dashboard/metrics', { signal: new AbortController().signal }).then((r) => r.metrics).catch(() => []);
  return catalogCache;
}
