import { test, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { DEMO_PASSWORD, watchForFaults } from './helpers';

/** axe-core finds nothing on the page as it stands (WCAG 2.x A and AA rules and best practices). */
async function accessible(page: Page, where: string) {
  await page.waitForLoadState('networkidle');
  await expect(page.locator('.loading')).toHaveCount(0);
  const { violations } = await new AxeBuilder({ page }).analyze();
  const found = violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  expect(found, `${where}: axe-core violations`).toEqual([]);
}

test('axe-core finds no violation on any page, the editor and its history overlay included', async ({ page }) => {
  const faults = watchForFaults(page);
  await page.goto('/login');
  await page.locator('body[data-hydrated]').waitFor();
  await accessible(page, 'Sign in');
  await page.getByLabel('Email').fill('owner@acme.test');
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/orgs\/[^/]+$/);
  await page.locator('body[data-hydrated]').waitFor();
  await accessible(page, 'Overview');

  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const name of ['Workflows', 'Executions', 'Files', 'Members', 'Audit log', 'API keys', 'Usage & billing', 'Settings', 'Outbox']) {
    await nav.getByRole('link', { name, exact: true }).click();
    await accessible(page, name);
  }
  await nav.getByRole('link', { name: 'Audit log', exact: true }).click();
  await page.getByRole('link', { name: 'Streams' }).click();
  await accessible(page, 'Audit streams');

  await nav.getByRole('link', { name: 'Executions', exact: true }).click();
  const run = page.locator('table a[href*="/executions/"]').first();
  if (await run.count()) {
    await run.click();
    await accessible(page, 'Execution');
  }

  await page.getByRole('link', { name: 'Olive Owner' }).click();
  await accessible(page, 'Account');

  await page.getByRole('link', { name: 'Chronicle', exact: true }).click();
  await nav.getByRole('link', { name: 'Workflows', exact: true }).click();
  await page.getByRole('link', { name: 'Onboarding' }).click();
  await expect(page.getByLabel('Workflow name')).toHaveValue('Onboarding');
  await accessible(page, 'Editor');
  await page.getByRole('button', { name: 'Node Welcome email' }).click();
  await accessible(page, 'Editor with a node selected');
  await page.getByRole('button', { name: 'Version history' }).click();
  const dialog = page.getByRole('dialog', { name: 'Version history' });
  await dialog.getByRole('button', { name: 'Version 2' }).click();
  await accessible(page, 'History overlay');
  await dialog.getByRole('button', { name: 'View on canvas' }).click();
  await expect(page.getByText(/^Viewing version 2/)).toBeVisible();
  await accessible(page, 'Preview');
  await page.getByRole('button', { name: 'Exit preview' }).click();
  await page.getByRole('link', { name: 'Engagement' }).click();
  await accessible(page, 'Engagement');
  expect(faults).toEqual([]);
});
