import { test, expect } from '@playwright/test';
import { loginToOrg, watchForFaults } from './helpers';

const menus: Array<[string, string[]]> = [
  ['owner@acme.test', ['Overview', 'Workflows', 'Executions', 'Files', 'Members', 'Audit log', 'API keys', 'Usage & billing', 'Settings', 'Outbox']],
  ['admin@acme.test', ['Overview', 'Workflows', 'Executions', 'Files', 'Members', 'Audit log', 'API keys', 'Usage & billing', 'Settings']],
  ['member@acme.test', ['Overview', 'Workflows', 'Executions', 'Files', 'API keys']],
];

for (const [email, links] of menus) {
  test(`${email} reaches every page of the menu by clicking`, async ({ page }) => {
    const faults = watchForFaults(page);
    await loginToOrg(page, email);
    const nav = page.getByRole('navigation', { name: 'Main' });
    await expect(nav.getByRole('link')).toHaveText(links);
    for (const name of links) {
      await nav.getByRole('link', { name, exact: true }).click();
      await expect(nav.getByRole('link', { name, exact: true })).toHaveAttribute('aria-current', 'page');
      await page.waitForLoadState('networkidle');
      await expect(page.locator('.error-panel')).toHaveCount(0);
      await expect(page.locator('.loading')).toHaveCount(0);
    }
    // The explorer, reached from the menu, lists the sign-in that just happened.
    if (links.includes('Audit log')) {
      await nav.getByRole('link', { name: 'Audit log' }).click();
      await expect(page.locator('table.audit tbody.event').first()).toBeVisible();
    }
    // A workflow from the list, then the account page from the user's name.
    await nav.getByRole('link', { name: 'Workflows', exact: true }).click();
    await page.locator('table a').first().click();
    await expect(page.getByRole('application', { name: 'Workflow canvas' })).toBeVisible();
    await page.locator('header .who').click();
    await expect(page).toHaveURL('/account');
    await page.waitForLoadState('networkidle');
    await expect(page.locator('.error-panel')).toHaveCount(0);
    expect(faults).toEqual([]);
  });
}
