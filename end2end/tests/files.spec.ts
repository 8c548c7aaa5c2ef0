import { test, expect } from '@playwright/test';
import { loginToOrg, watchForFaults } from './helpers';

test('an owner uploads a file with progress, shares it, an anonymous visitor downloads it, and the trail and usage show it', async ({ page, browser }) => {
  const faults = watchForFaults(page);
  const org = await loginToOrg(page, 'owner@acme.test');
  const nav = page.getByRole('navigation', { name: 'Main' });

  // Usage before: the bar's value, read as the meter says it.
  await nav.getByRole('link', { name: 'Usage & billing', exact: true }).click();
  const meter = page.getByRole('meter', { name: 'Storage used' });
  const before = Number(await meter.getAttribute('aria-valuenow'));

  // Upload 6 MB: the status shows the progress on the way.
  await nav.getByRole('link', { name: 'Files', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Files' })).toBeVisible();
  await page.locator('.upload-state').evaluate((el) => {
    const seen: string[] = [];
    (window as unknown as { uploadSeen: string[] }).uploadSeen = seen;
    new MutationObserver(() => seen.push(el.textContent ?? '')).observe(el, { subtree: true, childList: true, characterData: true });
  });
  const size = 6 * 1024 * 1024;
  await page.locator('input[type=file]').setInputFiles({ name: 'press kit.pdf', mimeType: 'application/pdf', buffer: Buffer.alloc(size, 7) });
  await expect(page.getByRole('status').filter({ hasText: 'Uploaded press kit.pdf.' })).toBeVisible();
  const seen = await page.evaluate(() => (window as unknown as { uploadSeen: string[] }).uploadSeen);
  expect(seen.some((t) => /Uploading press kit\.pdf… \d+%/.test(t))).toBe(true);
  const row = page.getByRole('row', { name: /press kit\.pdf/ });
  await expect(row).toContainText('6.0 MB');

  // Share: the link is shown once; a fresh browser with no session downloads through it.
  await row.getByRole('button', { name: 'Share press kit.pdf' }).click();
  const link = await page.getByRole('textbox', { name: 'Public link' }).inputValue();
  expect(link).toMatch(/\/s\/[0-9a-f]{64}$/);
  const visitor = await browser.newContext();
  const download = await visitor.request.get(link);
  expect(download.status()).toBe(200);
  expect(download.headers()['content-disposition']).toContain('press kit.pdf');
  expect((await download.body()).length).toBe(size);
  await visitor.close();
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(row).toContainText('Shared');

  // The trail shows the anonymous download, with the visitor's address.
  await nav.getByRole('link', { name: 'Audit log', exact: true }).click();
  await page.getByText('Actions: all').click();
  await page.getByRole('checkbox', { name: 'file.downloaded' }).check();
  await page.getByRole('button', { name: 'Apply filters' }).click();
  const event = page.locator('table.audit tbody.event').first();
  await expect(event).toContainText('Public link');
  await expect(event).toContainText('127.0.0.1');

  // Revoke: the link stops working.
  await nav.getByRole('link', { name: 'Files', exact: true }).click();
  await page.getByRole('button', { name: 'Revoke the public link of press kit.pdf' }).click();
  await expect(page.getByRole('row', { name: /press kit\.pdf/ })).not.toContainText('Shared');
  const late = await browser.newContext();
  expect((await late.request.get(link)).status()).toBe(404);
  await late.close();

  // The usage bar moved by the file's size.
  await nav.getByRole('link', { name: 'Usage & billing', exact: true }).click();
  await expect(meter).toHaveAttribute('aria-valuenow', String(before + size));
  await expect(page.getByRole('row', { name: /press kit\.pdf/ })).toBeVisible();
  await expect(page.locator('.error-panel')).toHaveCount(0);
  expect(faults).toEqual([]);
});
