// Drives Debian's Chromium with playwright-core through moontide's docs pages
// for tests/blackbox/test_docs_browser.py. Reads one JSON object on stdin:
//
//   { "base": "http://127.0.0.1:PORT", "executablePath": "/usr/bin/chromium",
//     "timeoutMs": 20000, "operations": N,            // distinct operations to wait for on /docs
//     "tryItOut": { "method": "post", "path": "/books", "title": "..." },
//     "screenshots": "DIR" }                          // where a failing page leaves a screenshot
//
// and prints one JSON object on stdout: what each page showed and every request
// it made. It asserts nothing: the Python test compares with /openapi.json.
// Every wait is bounded by timeoutMs; nothing sleeps for a fixed time.
import { chromium } from 'playwright-core';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const cfg = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const timeout = cfg.timeoutMs ?? 20000;
const origin = new URL(cfg.base).origin;

// Every request a page makes, three ways: `request` events (whatever the page
// asked for, including what its Content-Security-Policy then blocks),
// `requestfailed` events (with the reason: "csp" when the page's policy blocked it),
// and `routed`: what reached the network stack, i.e. what would really have
// been sent. Routing lets requests to this server through and aborts any
// other, so the test never depends on what the network around it allows.
function recorder(page) {
  const log = { requests: [], failed: [], routed: [], aborted: [], console: [], pageErrors: [] };
  page.on('request', (r) => log.requests.push({ method: r.method(), url: r.url(), type: r.resourceType() }));
  page.on('requestfailed', (r) => log.failed.push({ url: r.url(), error: r.failure()?.errorText ?? '' }));
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') log.console.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => log.pageErrors.push(String(e && e.stack || e)));
  return log;
}

async function route(page, log) {
  await page.route('**/*', async (r) => {
    const url = r.request().url();
    log.routed.push(url);
    if (new URL(url).origin === origin) return r.continue();
    log.aborted.push(url);
    return r.abort('blockedbyclient');
  });
}

async function swagger(context, out) {
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  const log = out.log = recorder(page);
  await route(page, log);
  const response = await page.goto(`${cfg.base}/docs`, { waitUntil: 'load' });
  out.status = response.status();
  out.csp = response.headers()['content-security-policy'] ?? null;
  // the operations render together once the document is loaded: wait for all of them
  // (a deprecated operation's path is .opblock-summary-path__deprecated)
  const PATH = '.opblock-summary-path, .opblock-summary-path__deprecated';
  await page.waitForSelector(`.opblock :is(${PATH})`);
  await page.waitForFunction(([n, sel]) => {
    const seen = new Set();
    for (const el of document.querySelectorAll('.opblock')) {
      const path = el.querySelector(sel);
      seen.add(`${el.querySelector('.opblock-summary-method')?.textContent} ${path?.getAttribute('data-path')}`);
    }
    return seen.size >= n;
  }, [cfg.operations, PATH], { timeout }).catch(() => {});
  out.operations = await page.$$eval('.opblock', (blocks, sel) => blocks.map((el) => {
    const path = el.querySelector(sel);
    return {
      method: (el.querySelector('.opblock-summary-method')?.textContent ?? '').trim().toLowerCase(),
      path: path?.getAttribute('data-path') ?? (path?.textContent ?? '').replace(/\u200b/g, '').trim(),
      id: el.id,
    };
  }), PATH);

  // Try it out, end to end: expand the operation, keep Swagger UI's example
  // body (built from the schema's examples) with a fresh title, execute
  const t = cfg.tryItOut;
  const block = page.locator(`.opblock.opblock-${t.method}`)
    .filter({ has: page.locator(`.opblock-summary-path[data-path="${t.path}"]`) }).first();
  await block.locator('.opblock-summary').first().click();
  await block.locator('.try-out__btn').click();
  const textarea = block.locator('textarea.body-param__text');
  await textarea.waitFor({ state: 'visible' });
  out.exampleBody = await textarea.inputValue();
  const body = JSON.parse(out.exampleBody);
  body.title = t.title;
  await textarea.fill(JSON.stringify(body, null, 2));
  const [sent] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === t.method.toUpperCase() && new URL(r.url()).pathname === t.path),
    block.locator('button.execute').click(),
  ]);
  out.sent = { url: sent.url(), status: sent.status(), requestBody: sent.request().postData() };
  const status = block.locator('.live-responses-table .response .response-col_status').first();
  await status.waitFor({ state: 'visible' });
  out.shownStatus = (await status.textContent()).trim();
  out.shownBody = await block.locator('.live-responses-table .response-col_description .highlight-code').first()
    .innerText();
  out.requestUrl = await block.locator('.request-url pre').first().innerText().catch(() => null);
  await page.close();
}

async function redoc(context, out) {
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  const log = out.log = recorder(page);
  await route(page, log);
  const response = await page.goto(`${cfg.base}/redoc`, { waitUntil: 'load' });
  out.status = response.status();
  out.csp = response.headers()['content-security-policy'] ?? null;
  // ReDoc renders the menu (tags collapsed: their items are in the page but
  // hidden) and every operation's section once the document is parsed
  await page.waitForSelector('.menu-content li[data-item-id*="operation/"]', { state: 'attached' });
  await page.waitForSelector('[data-section-id*="operation/"] h2');
  out.title = await page.title();
  out.menu = await page.$$eval('.menu-content li[data-item-id*="operation/"]', (items) => items.map((li) => ({
    id: li.getAttribute('data-item-id'),
    label: (() => {
      const label = li.querySelector('label')?.cloneNode(true);
      label?.querySelector('.operation-type')?.remove();
      return (label?.textContent ?? '').trim();
    })(),
    method: (li.querySelector('.operation-type')?.textContent ?? '').trim(),
  })));
  out.sections = await page.$$eval('[data-section-id*="operation/"]', (sections) => sections.map((s) => ({
    id: s.getAttribute('data-section-id'),
    heading: (s.querySelector('h2')?.textContent ?? '').trim(),
  })));
  // everything that has been asked for is loaded (the footer's logo among it)
  await page.waitForLoadState('networkidle').catch(() => {});
  await page.close();
}

// a failure on one page is reported with what that page did so far, and the
// other page still runs
const result = { chromium: null, docs: {}, redoc: {} };
const describe = (e) => String(e && e.stack || e).replace(/\u001b\[[0-9;]*m/g, '');
let browser;
try {
  browser = await chromium.launch({ executablePath: cfg.executablePath, args: ['--no-sandbox'], timeout });
  result.chromium = browser.version();
  const context = await browser.newContext();
  for (const [name, run, out] of [['docs', swagger, result.docs], ['redoc', redoc, result.redoc]]) {
    await run(context, out).catch(async (e) => {
      out.error = describe(e);
      for (const page of context.pages()) {
        const path = `${cfg.screenshots}/${name}.png`;
        if (cfg.screenshots && await page.screenshot({ path, fullPage: true, timeout }).then(() => true, () => false)) {
          out.screenshot = path;
        }
        await page.close().catch(() => {});
      }
    });
  }
} catch (e) {
  result.error = describe(e);
} finally {
  if (browser) await browser.close().catch(() => {});
}
process.stdout.write(JSON.stringify(result) + '\n');
