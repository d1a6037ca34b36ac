// Swagger UI's Authorize dialog against moontide's securitySchemes, for
// tests/blackbox/test_security.py. Reads one JSON object on stdin:
//
//   { "base": "http://127.0.0.1:PORT", "executablePath": "/usr/bin/chromium",
//     "timeoutMs": 20000, "scheme": "ApiKey", "value": "key-alice",
//     "path": "/whoami", "screenshots": "DIR" }
//
// opens /docs, enters `value` for `scheme` in the Authorize dialog, then runs
// "Try it out" on GET `path`, and prints one JSON object on stdout: the schemes
// the dialog listed, the header the request carried, and the answer shown.
// It asserts nothing; every wait is bounded by timeoutMs.
import { chromium } from 'playwright-core';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const cfg = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const timeout = cfg.timeoutMs ?? 20000;
const origin = new URL(cfg.base).origin;

const out = {};
let browser, page;
try {
  browser = await chromium.launch({ executablePath: cfg.executablePath, args: ['--no-sandbox'], timeout });
  page = await (await browser.newContext()).newPage();
  page.setDefaultTimeout(timeout);
  // only this server is reachable: the test never depends on the network around it
  await page.route('**/*', (r) => (new URL(r.request().url()).origin === origin ? r.continue() : r.abort()));
  await page.goto(`${cfg.base}/docs`, { waitUntil: 'load' });

  await page.locator('.auth-wrapper .btn.authorize').click();
  const dialog = page.locator('.modal-ux');
  await dialog.waitFor({ state: 'visible' });
  out.schemes = await dialog.locator('.auth-container h4').allInnerTexts();
  // the heading reads "NAME (type)"; hasText alone is a case-blind substring ("QueryKey (apiKey)" has "ApiKey")
  const heading = new RegExp(`^\\s*${cfg.scheme}[\\s\\u00a0]`);
  const container = dialog.locator('.auth-container').filter({ has: page.locator('h4', { hasText: heading }) });
  await container.locator('input').first().fill(cfg.value);
  await container.locator('button.authorize').click();
  // once it took the value the dialog offers to remove it
  await container.locator('button[aria-label="Remove authorization"]').waitFor({ state: 'visible' });
  await dialog.locator('button.btn-done').first().click();

  const block = page.locator('.opblock.opblock-get')
    .filter({ has: page.locator(`.opblock-summary-path[data-path="${cfg.path}"]`) }).first();
  await block.locator('.opblock-summary').first().click();
  await block.locator('.try-out__btn').click();
  const [sent] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === cfg.path),
    block.locator('button.execute').click(),
  ]);
  out.sentHeaders = sent.request().headers();
  out.status = sent.status();
  const status = block.locator('.live-responses-table .response .response-col_status').first();
  await status.waitFor({ state: 'visible' });
  out.shownStatus = (await status.textContent()).trim();
  out.shownBody = await block.locator('.live-responses-table .response-col_description .highlight-code').first()
    .innerText();
} catch (e) {
  out.error = String(e && e.stack || e).replace(/\u001b\[[0-9;]*m/g, '');
  if (page && cfg.screenshots) {
    const path = `${cfg.screenshots}/authorize.png`;
    if (await page.screenshot({ path, fullPage: true, timeout }).then(() => true, () => false)) out.screenshot = path;
  }
} finally {
  if (browser) await browser.close().catch(() => {});
}
process.stdout.write(JSON.stringify(out) + '\n');
