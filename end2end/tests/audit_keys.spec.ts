import { test, expect } from '@playwright/test';
import * as fs from 'fs';
import { loginToOrg } from './helpers';

test('an owner creates an org key, sees it once, revokes it, and finds both in the audit log', async ({ page }) => {
  const org = await loginToOrg(page, 'owner@acme.test');
  await page.getByRole('link', { name: 'API keys', exact: true }).click();
  await expect(page).toHaveURL(`/orgs/${org}/api-keys`);
  const orgKeys = page.getByRole('region', { name: 'Organisation keys' });
  await expect(orgKeys).toBeVisible();

  // Create: name, scopes; the secret is shown once with a warning.
  await orgKeys.getByLabel('Name').fill('E2E deploy');
  await orgKeys.getByLabel('workflows:read').check();
  await orgKeys.getByLabel('audit:read').check();
  await orgKeys.getByRole('button', { name: 'Create key' }).click();
  await expect(orgKeys.getByText("Copy it now: you won't see it again.")).toBeVisible();
  const secret = await orgKeys.getByLabel('New API key').inputValue();
  expect(secret).toMatch(/^chr_org_[0-9A-Za-z]{49}$/);
  const display = `chr_org_…${secret.slice(-4)}`;
  const row = orgKeys.getByRole('row', { name: /E2E deploy/ });
  await expect(row).toContainText(display);
  await expect(row).toContainText('workflows:read, audit:read');

  // The key works over the API with its scopes.
  const asKey = await page.request.get(`/api/v1/orgs/${org}/workflows`, { headers: { Authorization: `Bearer ${secret}` } });
  expect(asKey.status()).toBe(200);

  // Done hides the secret for good; the page never shows it again.
  await orgKeys.getByRole('button', { name: 'Done' }).click();
  await expect(orgKeys.getByLabel('New API key')).toHaveCount(0);
  await page.reload();
  await page.locator('body[data-hydrated]').waitFor();
  await expect(page.getByText(display).first()).toBeVisible();
  expect(await page.content()).not.toContain(secret);

  // Activity shows the creation; revoke with confirmation.
  const activity = page.getByRole('region', { name: 'Organisation keys' }).locator('.activity');
  await expect(activity.locator('li').first()).toContainText(`Olive Owner created E2E deploy ${display}`);
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Revoke E2E deploy' }).click();
  await expect(page.getByRole('row', { name: /E2E deploy/ })).toContainText('Revoked');
  await expect(activity.locator('li').first()).toContainText(`Olive Owner revoked E2E deploy ${display}`);
  const refused = await page.request.get(`/api/v1/orgs/${org}/workflows`, { headers: { Authorization: `Bearer ${secret}` } });
  expect(refused.status()).toBe(401);

  // The alert mail waits in the outbox (no SMTP relay here).
  await page.getByRole('link', { name: 'Outbox', exact: true }).click();
  await expect(page.getByText('Chronicle: org API key "E2E deploy" revoked')).toBeVisible();
  await expect(page.getByText('Chronicle: org API key "E2E deploy" created')).toBeVisible();

  // The audit log, filtered to key actions, has both events; a row expands to its details.
  await page.getByRole('link', { name: 'Audit log', exact: true }).click();
  await expect(page).toHaveURL(`/orgs/${org}/audit`);
  await page.getByText('Actions: all').click();
  await page.getByRole('checkbox', { name: 'api_key.created' }).check();
  await page.getByRole('checkbox', { name: 'api_key.revoked' }).check();
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(/action=api_key\.created%2Capi_key\.revoked/);
  const events = page.locator('table.audit tbody.event');
  await expect(events).toHaveCount(2);
  await expect(events.nth(0)).toContainText('api_key.revoked');
  await expect(events.nth(1)).toContainText('api_key.created');
  await expect(events.nth(0)).toContainText('Olive Owner');
  await expect(events.nth(0)).toContainText('owner@acme.test');
  await events.nth(1).getByRole('button', { name: /Details of api_key.created/ }).click();
  const details = events.nth(1).locator('tr.details');
  await expect(details).toContainText(display);
  await expect(details).toContainText('workflows:read');

  // The filtered view is shareable: a fresh load of the URL shows the same two events.
  await page.goto(page.url());
  await page.locator('body[data-hydrated]').waitFor();
  await expect(page.locator('table.audit tbody.event')).toHaveCount(2);

  // The actor filter offers the org's people and its keys; the owner made both events.
  const actor = page.getByLabel('Actor');
  await expect(actor.locator('optgroup[label="Org API keys"] option', { hasText: `E2E deploy (${display})` })).toHaveCount(1);
  await actor.selectOption({ label: 'Olive Owner <owner@acme.test>' });
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(/actor_id=/);
  await expect(page.locator('table.audit tbody.event')).toHaveCount(2);
  await actor.selectOption({ label: 'Ada Admin <admin@acme.test>' });
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page.locator('table.audit tbody.event')).toHaveCount(0);
  await page.goto(`/orgs/${org}/audit?action=api_key.created%2Capi_key.revoked`);
  await page.locator('body[data-hydrated]').waitFor();

  // Export CSV of the current filter: a header and the two rows, never the secret.
  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Export CSV' }).click();
  const download = await downloadPromise;
  expect(download.suggestedFilename()).toMatch(/^audit-.*\.csv$/);
  const csv = fs.readFileSync((await download.path())!, 'utf8');
  const lines = csv.trim().split('\n');
  expect(lines[0]).toContain('created_at,id,action');
  expect(lines).toHaveLength(3);
  expect(csv).not.toContain(secret);

  // The export itself is in the trail.
  await page.goto(`/orgs/${org}/audit?action=audit_log.exported`);
  await expect(page.locator('table.audit tbody.event').first()).toContainText('audit_log.exported');
});

test('a member cannot open the audit log but manages personal keys', async ({ page }) => {
  const org = await loginToOrg(page, 'member@acme.test');
  await expect(page.getByRole('link', { name: 'Audit log', exact: true })).toHaveCount(0);
  await page.goto(`/orgs/${org}/audit`);
  await expect(page.getByRole('heading', { name: "You don't have access to this page" })).toBeVisible();
  // Nothing of the page that cannot work for them: no filters, no export.
  await expect(page.getByRole('form', { name: 'Filters' })).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'Export CSV' })).toHaveCount(0);
  expect((await page.request.get(`/api/v1/orgs/${org}/audit`)).status()).toBe(403);
  expect((await page.request.get(`/api/v1/orgs/${org}/audit/export?format=csv`)).status()).toBe(403);

  await page.goto(`/orgs/${org}/api-keys`);
  await page.locator('body[data-hydrated]').waitFor();
  await expect(page.getByRole('region', { name: 'Organisation keys' })).toHaveCount(0);
  const mine = page.getByRole('region', { name: 'Personal keys' });
  await mine.getByLabel('Name').fill('my laptop');
  // A personal key needs the current password: a stolen session alone cannot mint one.
  await mine.getByRole('button', { name: 'Create key' }).click();
  await expect(mine.getByRole('alert')).toContainText('current password');
  await mine.getByLabel('Your current password').fill('chronicle-demo');
  await mine.getByRole('button', { name: 'Create key' }).click();
  await expect(mine.getByRole('alert')).toContainText('Scopes must include at least one of');
  await mine.getByLabel('keys:read').check();
  await mine.getByRole('button', { name: 'Create key' }).click();
  const secret = await mine.getByLabel('New API key').inputValue();
  expect(secret).toMatch(/^chr_pat_/);
  await expect(mine.locator('.activity li').first()).toContainText('Max Member created my laptop');
  // The alert about it waits for the member on their account page (no SMTP relay here).
  await page.getByRole('link', { name: 'Max Member' }).click();
  await expect(page.getByText('Chronicle: personal API key "my laptop" created')).toBeVisible();
});

test('a user changes their password and signs out other sessions', async ({ page, browser }) => {
  // A second session for the same user, in another browser context.
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await loginToOrg(otherPage, 'owner@globex.test');

  await loginToOrg(page, 'owner@globex.test');
  await page.getByRole('link', { name: 'Gus Owner' }).click();
  await expect(page).toHaveURL('/account');
  await expect(page.getByText('This session')).toBeVisible();
  await expect(page.locator('table tbody tr')).toHaveCount(2);

  await page.getByLabel('Current password').fill('wrong-password');
  await page.getByLabel('New password (at least 10 characters)').fill('a-new-password-1');
  await page.getByLabel('Repeat new password').fill('a-new-password-1');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByRole('alert')).toContainText('Current password is incorrect');

  await page.getByLabel('Current password').fill('chronicle-demo');
  await page.getByLabel('New password (at least 10 characters)').fill('a-new-password-1');
  await page.getByLabel('Repeat new password').fill('a-new-password-1');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByRole('status')).toContainText('Password changed');
  // The other session is gone.
  expect((await otherPage.request.get('/api/v1/me')).status()).toBe(401);
  await other.close();
  // Put the demo password back for the other tests.
  await page.getByLabel('Current password').fill('a-new-password-1');
  await page.getByLabel('New password (at least 10 characters)').fill('chronicle-demo');
  await page.getByLabel('Repeat new password').fill('chronicle-demo');
  await page.getByRole('button', { name: 'Change password' }).click();
  // The status line reads the same as before: wait for the old password to stop working.
  await expect
    .poll(async () => (await page.request.post('/api/v1/auth/login', { data: { email: 'owner@globex.test', password: 'chronicle-demo' } })).status())
    .toBe(200);
});

test('an admin verifies the trail from the audit page', async ({ page }) => {
  await loginToOrg(page, 'admin@acme.test');
  await page.getByRole('link', { name: 'Audit log', exact: true }).click();
  await page.getByText('Integrity', { exact: true }).click();
  await page.getByRole('button', { name: 'Verify now' }).click();
  await expect(page.getByRole('status').filter({ hasText: /^Verified: \d+ events? and \d+ checkpoints?, all intact\.$/ })).toBeVisible();
  await expect(page.getByText(/^Last checkpoint: event \d+/)).toBeVisible();
});
