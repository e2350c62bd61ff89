// app.js: the dashboard shell - session, navigation (hash routes), page lifecycle.
import { api, errorBox, leavePage, session, setMain } from './lib.js';
import { overviewPage } from './pages/overview.js';
import { servicesPage, servicePage } from './pages/services.js';
import { tasksPage, taskPage } from './pages/tasks.js';
import { alarmsPage, alarmPage } from './pages/alarms.js';
import { billingPage } from './pages/billing.js';

const routes = [
  [/^\/?$/, 'overview', overviewPage],
  [/^\/services\/?$/, 'services', servicesPage],
  [/^\/services\/([^/]+)\/([^/]+)$/, 'services', servicePage],
  [/^\/tasks\/?$/, 'tasks', tasksPage],
  [/^\/tasks\/([^/]+)\/([^/]+)$/, 'tasks', taskPage],
  [/^\/alarms\/?$/, 'alarms', alarmsPage],
  [/^\/alarms\/(.+)$/, 'alarms', alarmPage],
  [/^\/billing\/?$/, 'billing', billingPage],
];

let cleanup = null;
let sessionCheck = null;
let routeGen = 0;
let signingOut = false;

// Each page resolves once its main content is on screen with data: main gets data-ready and the
// performance timeline a 'berth:ready' mark (the load benchmark and the browser tests wait on it).
async function route() {
  const main = document.getElementById('main');
  const gen = ++routeGen;
  delete main.dataset.ready;
  delete main.dataset.charts;
  performance.clearMarks('berth:ready');
  performance.clearMarks('berth:charts');
  if (cleanup) { try { cleanup(); } catch { /* a page's teardown must not stop navigation */ } }
  cleanup = null;
  leavePage();
  const raw = location.hash.replace(/^#/, '');
  const [path, query] = raw.split('?');
  const params = new URLSearchParams(query || '');
  for (const [re, nav, page] of routes) {
    const m = path.match(re);
    if (!m) continue;
    for (const a of document.querySelectorAll('[data-nav]')) {
      if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
      a.classList.toggle('active', a.dataset.nav === nav);
    }
    document.body.dataset.page = nav;
    try {
      const done = await page(...m.slice(1).map(decodeURIComponent), params) || null;
      // A page that finished loading after the user moved on (or signed out) stops at once.
      if (gen === routeGen && !signingOut) cleanup = done;
      else if (done) done();
    } catch (e) {
      if (gen === routeGen) setMain(errorBox(e, 'this page'));
    }
    if (gen === routeGen) ready(main, nav);
    return;
  }
  setMain(errorBox(new Error(`No page ${path}.`), 'this page'));
  if (gen === routeGen) ready(main, 'none');
}

function ready(main, nav) {
  main.dataset.ready = nav;
  performance.mark('berth:ready', { detail: nav });
}

async function start() {
  try {
    Object.assign(session, await api('/v1/session'));
  } catch {
    location.replace('/signin');
    return;
  }
  document.getElementById('who').textContent = `${session.name || 'token'} · ${session.role}`;
  document.getElementById('signout').addEventListener('click', async () => {
    // Stop the page's refreshes and streams first: nothing may race the ending session.
    if (cleanup) { try { cleanup(); } catch { /* leaving anyway */ } }
    cleanup = null;
    signingOut = true;
    leavePage();
    clearInterval(sessionCheck);
    try { await api('/v1/session', { method: 'DELETE' }); } finally { location.replace('/signin'); }
  });
  window.addEventListener('hashchange', () => { route(); document.getElementById('main').focus({ preventScroll: true }); });
  route();
  // A session that ends (expiry, revocation) sends the next API call to sign-in; check hourly too.
  sessionCheck = setInterval(() => api('/v1/session').catch(() => location.replace('/signin')), 3600 * 1000);
}

start();
