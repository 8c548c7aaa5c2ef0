import { test, expect, Page } from '@playwright/test';
import { loginToOrg, watchForFaults } from './helpers';

/** Bytes of code (.wasm, .js, .css) as they came over the wire, per page visit (CDP). */
async function wireMeter(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const urls = new Map<string, string>();
  let bytes = 0;
  cdp.on('Network.responseReceived', (e) => urls.set(e.requestId, e.response.url));
  cdp.on('Network.loadingFinished', (e) => {
    const url = urls.get(e.requestId) ?? '';
    if (/\.(wasm|js|css)(\?|$)/.test(url)) bytes += e.encodedDataLength;
  });
  return { take: () => { const b = bytes; bytes = 0; return b; } };
}

test('the site code goes out precompressed, under hashed names, cached for a year', async ({ page }) => {
  const faults = watchForFaults(page);
  const code: Array<{ url: string; encoding: string; cache: string }> = [];
  page.on('response', async (r) => {
    if (/\/pkg\/.*\.(wasm|js)$/.test(new URL(r.url()).pathname) && r.status() === 200) {
      const h = await r.allHeaders();
      code.push({ url: r.url(), encoding: h['content-encoding'] ?? '', cache: h['cache-control'] ?? '' });
    }
  });
  const meter = await wireMeter(page);
  const org = await loginToOrg(page, 'owner@acme.test');
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Workflows', exact: true }).click();
  await page.waitForLoadState('networkidle');
  const firstVisit = meter.take();
  await nav.getByRole('link', { name: 'Audit log', exact: true }).click();
  await expect(page.locator('table.audit tbody.event').first()).toBeVisible();
  await page.waitForLoadState('networkidle');
  const audit = meter.take();
  await page.reload();
  await page.locator('body[data-hydrated]').waitFor();
  await page.waitForLoadState('networkidle');
  const reload = meter.take();
  console.log(`code on the wire: sign-in + workflows ${firstVisit} B, then audit ${audit} B, reload ${reload} B (org ${org})`);

  expect(code.length).toBeGreaterThan(2);
  for (const c of code) {
    expect(c.encoding, c.url).toBe('br');
    expect(c.cache, c.url).toBe('public, max-age=31536000, immutable');
    // A content hash in the name: what the year-long cache relies on.
    expect(new URL(c.url).pathname, c.url).toMatch(/\.[A-Za-z0-9_-]{8,}\.(wasm|js)$/);
  }
  // Pages themselves are compressed as they go out, and never cached as immutable.
  const html = await page.request.get(`/orgs/${org}/workflows`, { headers: { 'accept-encoding': 'br, gzip' } });
  expect(html.headers()['content-encoding']).toMatch(/^(br|gzip)$/);
  expect(html.headers()['cache-control'] ?? '').not.toContain('immutable');
  // The page paints before any code is fetched: nothing in it preloads the site's code (the
  // loader fetches it after the first paint), and the page above was hydrated all the same.
  for (const path of [`/orgs/${org}/workflows`, `/orgs/${org}/audit`, '/login']) {
    const text = await (await page.request.get(path)).text();
    expect(text, path).not.toMatch(/<link[^>]*(preload|modulepreload)[^>]*\/pkg\//);
    expect(text, path).not.toMatch(/<link[^>]*\/pkg\/[^>]*(preload|modulepreload)/);
  }
  expect(faults).toEqual([]);
});

test('what is typed into a page before its code is live is kept, and a click waits for it', async ({ page }) => {
  const faults = watchForFaults(page);
  await loginToOrg(page, 'owner@acme.test');
  // The API keys page's code comes late, as on a slow line.
  let held = 0;
  await page.route(/\/pkg\/split_admin_pages_[^/]*\.wasm$/, async (route) => {
    held += 1;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await route.continue();
  });
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys', exact: true }).click();
  const orgKeys = page.getByRole('region', { name: 'Organisation keys' });
  await orgKeys.getByLabel('Name').fill('Typed early');
  // Typed while the page was still only the server's HTML.
  await expect(page.locator('body[data-hydrated]')).toHaveCount(0);
  await page.locator('body[data-hydrated]').waitFor();
  expect(held).toBe(1);
  await expect(orgKeys.getByLabel('Name')).toHaveValue('Typed early');
  await orgKeys.getByLabel('workflows:read').check();
  await orgKeys.getByRole('button', { name: 'Create key' }).click();
  await expect(orgKeys.getByRole('row', { name: /Typed early/ })).toBeVisible();
  expect(faults).toEqual([]);
});
