// SPDX-License-Identifier: MIT
// dashboard.mjs: the dashboard in Debian's headless Chromium (playwright-core): sign-in, every
// page checked against the API, actions from the UI, CSRF, cookie flags, read-only role,
// keyboard, phone layout, console errors, sign-out. Prints TAP lines numbered from T_START.
import { chromium, request } from 'playwright-core';
import { join } from 'node:path';

const URL = process.env.BERTH_URL;
const TOKEN = process.env.BERTH_TOKEN;
const RO_TOKEN = process.env.BERTH_RO_TOKEN;
const SHOTS = process.env.BERTH_SHOTS;
let n = Number(process.env.T_START || 0);
let failed = 0;
const consoleErrors = [];

function ok(cond, name, detail) {
  n += 1;
  if (cond) console.log(`ok ${n} - ${name}`);
  else {
    failed += 1;
    console.log(`not ok ${n} - ${name}`);
    if (detail !== undefined) console.log(`  ${String(detail).split('\n').join('\n  ')}`);
  }
}

const t0 = Date.now();
async function step(name, fn) {
  const t = Date.now();
  try {
    await fn();
  } catch (e) {
    ok(false, name, e.stack || e);
  }
  console.log(`# ${name}: ${((Date.now() - t) / 1000).toFixed(1)} s (at ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

function watch(page, label) {
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${label}: ${m.text()} (${m.location().url}, page ${page.url()})`); });
  page.on('pageerror', (e) => consoleErrors.push(`${label}: ${e.message}`));
}

async function csrfOf(page) {
  return (await (await page.request.get(`${URL}/v1/session`)).json()).csrfToken;
}

async function ecsCall(page, op, body, csrf) {
  const headers = { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `AmazonEC2ContainerServiceV20141113.${op}` };
  if (csrf) headers['X-CSRF-Token'] = csrf;
  const r = await page.request.post(`${URL}/`, { headers, data: JSON.stringify(body) });
  return { status: r.status(), body: await r.json() };
}

async function shot(page, name) {
  const text = await page.evaluate(() => (document.querySelector('main') || document.body).innerText);
  const bad = text.match(/\b(null|undefined|NaN|\[object Object\])\b/);
  ok(!bad, `${name}: no null/undefined/NaN shown`, bad && bad[0]);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function until(fn, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => false);
    if (v) return v;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function signIn(page, token) {
  await page.goto(`${URL}/`);
  await page.fill('#token', token);
  await Promise.all([page.waitForURL(`${URL}/`), page.click('button[type=submit]')]);
  await page.waitForSelector('#who:not(:empty)');
}

// playwright gives the browser a fresh --user-data-dir of its own and removes it on close.
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await ctx.newPage();
page.setDefaultTimeout(20000);
watch(page, 'operator');

try {
  await step('unauthenticated page redirects to sign-in', async () => {
    const r = await page.goto(`${URL}/`);
    ok(page.url() === `${URL}/signin` && r.status() === 200, 'unauthenticated page redirects to sign-in', page.url());
    await shot(page, '00-signin');
  });
  await step('API without a session is refused', async () => {
    const r = await page.request.get(`${URL}/v1/dashboard/overview`);
    ok([400, 403].includes(r.status()) && (await r.json()).__type === 'MissingAuthenticationTokenException', 'API without a session is refused as before (SigV4)', r.status());
    const bad = await page.request.post(`${URL}/v1/session`, { headers: { 'Content-Type': 'application/json' }, data: JSON.stringify({ token: 'berth_' + '0'.repeat(48) }) });
    ok(bad.status() === 403 && (await bad.json()).__type === 'InvalidTokenException', 'a wrong token is refused', bad.status());
  });

  await step('sign in', async () => {
    await signIn(page, TOKEN);
    ok((await page.textContent('#who')).includes('operator'), 'sign in with the token shows the role');
  });

  await step('cookie flags', async () => {
    const c = (await ctx.cookies(URL)).find((x) => x.name === 'berth_session');
    ok(c && c.httpOnly && c.sameSite === 'Strict' && c.path === '/' && !c.secure, 'session cookie is HttpOnly, SameSite=Strict, Path=/ (not Secure over plain HTTP)', JSON.stringify(c));
    ok(!(await page.evaluate(() => document.cookie)).includes('berth_session'), 'scripts cannot read the session cookie');
    // A separate client, so the browser's own session stays as it is.
    const rc = await request.newContext();
    const r = await rc.post(`${URL}/v1/session`, { headers: { 'Content-Type': 'application/json', 'X-Forwarded-Proto': 'https' }, data: JSON.stringify({ token: TOKEN }) });
    ok(/;\s*Secure/.test(r.headers()['set-cookie'] || ''), 'cookie is Secure behind TLS', r.headers()['set-cookie']);
    await rc.dispose();
  });

  await step('CSRF', async () => {
    const none = await ecsCall(page, 'CreateCluster', { clusterName: 'csrf' });
    ok(none.status === 403 && none.body.__type === 'InvalidCsrfTokenException', 'a change without the CSRF header is refused', JSON.stringify(none));
    const wrong = await ecsCall(page, 'CreateCluster', { clusterName: 'csrf' }, 'f'.repeat(64));
    ok(wrong.status === 403 && wrong.body.__type === 'InvalidCsrfTokenException', 'a change with a wrong CSRF token is refused', JSON.stringify(wrong));
    const list = await ecsCall(page, 'ListClusters', {}, await csrfOf(page));
    ok(list.status === 200 && !list.body.clusterArns.some((a) => a.endsWith('/csrf')), 'nothing was created by the refused requests', JSON.stringify(list.body));
    const tok = await page.request.post(`${URL}/v1/tokens`, { headers: { 'X-CSRF-Token': await csrfOf(page), 'Content-Type': 'application/json' }, data: '{}' });
    ok(tok.status() === 403, 'a session cannot create tokens', tok.status());
  });

  await step('overview', async () => {
    await page.goto(`${URL}/#/`);
    await page.waitForSelector('h2:text("Clusters")');
    const api = await ecsCall(page, 'DescribeClusters', { clusters: ['shop'] }, await csrfOf(page));
    const row = page.locator('tr', { has: page.locator('a', { hasText: 'shop' }) });
    const cells = await row.locator('td').allTextContents();
    ok(cells[2] === String(api.body.clusters[0].runningTasksCount), 'overview running count matches DescribeClusters', `${cells} vs ${api.body.clusters[0].runningTasksCount}`);
    const drawn = await until(async () => Number(await page.getAttribute('[data-chart="shop: CPU reserved vs used"]', 'data-points')) > 0, 20000);
    ok(drawn, 'overview CPU chart draws a non-empty series');
    const pixels = await page.evaluate(() => {
      const c = document.querySelector('[data-chart="shop: memory reserved vs used"] canvas');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let painted = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]) painted++;
      return painted;
    });
    ok(pixels > 1000, 'memory chart canvas is painted', pixels);
    ok(await page.isVisible('text=eBPF probes'), 'overview shows BPF and cgroup status');
    await shot(page, '01-overview');
    await page.click('[data-range="6h"]');
    ok(await page.getAttribute('[data-range="6h"]', 'aria-pressed') === 'true', 'range buttons switch the charts to 6 h');
  });

  await step('services', async () => {
    await page.click('nav >> text=Services');
    await page.waitForSelector('a:text("web")');
    const cells = await page.locator('tr', { has: page.locator('a', { hasText: 'web' }) }).locator('td').allTextContents();
    ok(cells[3] === '2', 'services list shows desired count 2', cells.join('|'));
    ok(await page.getAttribute('#main', 'data-ready') === 'services', 'the services page marks itself ready');
    ok(await until(async () => await page.getAttribute('#main', 'data-charts') === 'ready' &&
      await page.locator('svg.spark').count() === await page.locator('tbody tr').count()), 'the sparklines follow the rows, one per service');
    await shot(page, '02-services');
    await page.click('a:text("web")');
    await page.waitForSelector('h2:text("Deployments")');
    ok(await page.locator('text=PRIMARY').count() > 0, 'service detail shows the PRIMARY deployment');
    ok(await page.locator('h2:has-text("Events")').count() === 1, 'service detail shows events');
    await page.fill('#desired', '3');
    await page.click('#scale');
    const scaled = await until(async () => {
      const r = await ecsCall(page, 'DescribeServices', { cluster: 'shop', services: ['web'] }, await csrfOf(page));
      return r.body.services[0].desiredCount === 3 && r.body.services[0].runningCount === 3;
    }, 60000);
    ok(scaled, 'scaling from the UI: the service runs 3 tasks (DescribeServices)');
    const shown = await until(async () => {
      await page.reload();
      await page.waitForSelector('h2:text("Deployments")');
      return (await page.textContent('main')).includes('running 3');
    }, 15000);
    ok(shown, 'the service page shows 3 running');
    const drawn = await until(async () => Number(await page.getAttribute('[data-chart="CPU"]', 'data-points')) > 0, 15000);
    ok(drawn, 'service CPU chart draws a non-empty series');
    await shot(page, '03-service');
  });

  await step('tasks', async () => {
    await page.click('nav >> text=Tasks');
    await page.waitForSelector('#task-total');
    const api = await (await page.request.get(`${URL}/v1/dashboard/tasks?status=ACTIVE`)).json();
    ok((await page.textContent('#task-total')).startsWith(`${api.total} task`), 'task list total matches the API', `${await page.textContent('#task-total')} vs ${api.total}`);
    await page.selectOption('#f-family', 'batch');
    await page.waitForFunction(() => location.hash.includes('family=batch'));
    const one = await until(async () => (await page.textContent('#task-total')) === '1 task', 10000);
    ok(one, 'family filter narrows the list to the batch task', await page.textContent('#task-total'));
    await shot(page, '04-tasks');
    await page.click('tbody a');
    await page.waitForSelector('h2:text("Containers")');
    ok(await page.locator('td:text("worker")').count() === 1, 'task detail lists its container');
    const logged = await until(async () => (await page.textContent('pre.log')).includes('hello-from-e2e') && /tick \d+/.test(await page.textContent('pre.log')), 15000);
    ok(logged, 'live log tail shows the container output');
    const before = (await page.textContent('pre.log')).match(/tick (\d+)/g).length;
    const grew = await until(async () => (await page.textContent('pre.log')).match(/tick (\d+)/g).length > before, 10000);
    ok(grew, 'the log follows new lines live');
    const drawn = await until(async () => Number(await page.getAttribute('[data-chart="worker: memory"]', 'data-points')) > 0, 15000);
    ok(drawn, 'per-container memory chart draws a non-empty series');
    await shot(page, '05-task');
    const id = decodeURIComponent(page.url().split('/').pop());
    await page.click('#stop-task');
    const stopped = await until(async () => {
      const r = await ecsCall(page, 'DescribeTasks', { cluster: 'shop', tasks: [id] }, await csrfOf(page));
      return r.body.tasks[0].lastStatus === 'STOPPED' && r.body.tasks[0].stopCode === 'UserInitiated';
    }, 60000);
    ok(stopped, 'stopping from the UI: the task is STOPPED with stopCode UserInitiated');
    const shown = await until(async () => {
      await page.reload();
      await page.waitForSelector('h2:text("Containers")');
      return (await page.textContent('main')).includes('Stopped from the dashboard');
    }, 15000);
    ok(shown, 'task page shows stopCode and stoppedReason');
    ok(await page.locator('td.num', { hasText: /^\d+$/ }).count() > 0, 'task page shows the exit code');
    await shot(page, '06-task-stopped');
  });

  await step('alarms', async () => {
    await page.click('nav >> text=Alarms');
    await page.waitForSelector('h2:text("Webhooks")');
    const text = await page.textContent('main');
    ok(/No alarms|not available|ALARM|OK|INSUFFICIENT_DATA/.test(text), 'alarms page shows alarms or says what to do');
    await shot(page, '07-alarms');
  });

  await step('billing', async () => {
    await page.click('nav >> text=Billing');
    await page.waitForSelector('#csv');
    const session = await (await page.request.get(`${URL}/v1/session`)).json();
    if (!session.billing) {
      ok(/not available/.test(await page.textContent('main')), 'billing page says billing is not available here');
    } else {
      await page.waitForSelector('h1 ~ div.grid, .empty');
      const href = await page.getAttribute('#csv', 'href');
      const api = await (await page.request.get(`${URL}${href.replace('format=csv', 'format=json')}`)).json();
      const keys = await page.locator('tbody tr td:first-child').allTextContents();
      ok(api.groups.length > 0 && api.groups.every((g) => keys.includes(g.key)), 'billing table lists every group of the report', `${keys} vs ${api.groups.map((g) => g.key)}`);
      ok(await page.locator('[data-chart="billing"] canvas').count() === 1, 'billing draws its chart');
      // The report grows every collect interval while tasks run, so the page's figure (read a
      // moment before the API's) may differ in the last digits.
      const foot = await page.locator('tfoot td').last().textContent();
      const shown = (foot.match(/^\s*(\d+(?:\.\d+)?) %/) || [])[1];
      ok(shown !== undefined && Math.abs(Number(shown) - Number(api.totals.efficiency)) <= 2, 'billing totals show the efficiency', `${foot} vs ${api.totals.efficiency}`);
      const csv = await page.request.get(`${URL}${href}`);
      ok(csv.status() === 200 && (await csv.text()).startsWith('period_start,'), 'billing CSV downloads with the session', csv.status());
    }
    await shot(page, '08-billing');
  });

  await step('keyboard', async () => {
    await page.goto(`${URL}/#/`);
    await page.reload();
    await page.waitForSelector('h2:text("Clusters")');
    await page.keyboard.press('Tab');
    ok(await page.evaluate(() => document.activeElement.textContent) === 'Skip to content', 'first Tab reaches the skip link');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    ok(await page.evaluate(() => document.activeElement.textContent) === 'Services', 'Tab walks the navigation');
    await page.keyboard.press('Enter');
    await page.waitForSelector('a:text("web")');
    ok(page.url().endsWith('#/services'), 'Enter opens the page');
  });

  await step('phone', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${URL}/#/tasks`);
    await page.waitForSelector('#task-total');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    ok(overflow <= 1, 'tasks page fits a phone screen (tables scroll inside)', overflow);
    await shot(page, '09-phone-tasks');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await step('read-only', async () => {
    const ctx2 = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const p2 = await ctx2.newPage();
      p2.setDefaultTimeout(20000);
      watch(p2, 'read-only');
      await signIn(p2, RO_TOKEN);
      ok((await p2.textContent('#who')).includes('read-only'), 'read-only token signs in');
      await p2.goto(`${URL}/#/services/shop/web`);
      await p2.waitForSelector('h2:text("Deployments")');
      ok(await p2.locator('#scale').count() === 0 && await p2.isVisible('text=Read-only token'), 'read-only: actions are hidden');
      await shot(p2, '10-readonly-service');
      const csrf = await csrfOf(p2);
      const upd = await ecsCall(p2, 'UpdateService', { cluster: 'shop', service: 'web', desiredCount: 0 }, csrf);
      ok(upd.status === 403 && upd.body.__type === 'AccessDeniedException', 'read-only: UpdateService gets 403', JSON.stringify(upd));
      const desc = await ecsCall(p2, 'DescribeServices', { cluster: 'shop', services: ['web'] }, csrf);
      ok(desc.status === 200 && desc.body.services[0].desiredCount === 3, 'read-only: DescribeServices works and nothing changed');
      const stop = await ecsCall(p2, 'StopTask', { cluster: 'shop', task: 'x' }, csrf);
      ok(stop.status === 403, 'read-only: StopTask gets 403');
    } finally {
      await ctx2.close();
    }
  });

  await step('sign out', async () => {
    await page.goto(`${URL}/#/`);
    await page.waitForSelector('#signout');
    await Promise.all([page.waitForURL(`${URL}/signin`), page.click('#signout')]);
    const r = await page.request.get(`${URL}/v1/dashboard/overview`);
    ok(r.status() >= 400 && r.status() < 404, 'after sign-out the API refuses the browser', r.status());
    await page.goto(`${URL}/`);
    ok(page.url() === `${URL}/signin`, 'after sign-out pages redirect to sign-in');
  });

  ok(consoleErrors.length === 0, 'no console errors on any page', consoleErrors.join('\n'));
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
