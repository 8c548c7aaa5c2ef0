import { test, expect, Page } from '@playwright/test';
import { loginToOrg, watchForFaults } from './helpers';

test.use({ viewport: { width: 390, height: 844 } });

/** The page is no wider than the screen: nothing scrolls sideways. */
async function fits(page: Page, where: string) {
  const [scroll, inner] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  expect(scroll, `${where}: ${scroll}px wide on a ${inner}px screen`).toBeLessThanOrEqual(inner);
}

test('on a 390 px phone the navigation folds behind Menu and no page scrolls sideways', async ({ page }) => {
  const faults = watchForFaults(page);
  await loginToOrg(page, 'owner@acme.test');
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav).toBeHidden();
  await fits(page, 'Overview');
  for (const name of ['Workflows', 'Executions', 'Files', 'Members', 'Audit log', 'API keys', 'Usage & billing', 'Settings', 'Outbox']) {
    const menu = page.getByRole('button', { name: 'Menu' });
    await menu.click();
    await expect(menu).toHaveAttribute('aria-expanded', 'true');
    await nav.getByRole('link', { name, exact: true }).click();
    await expect(nav).toBeHidden();
    await page.waitForLoadState('networkidle');
    await expect(page.locator('.loading')).toHaveCount(0);
    await fits(page, name);
  }
  expect(faults).toEqual([]);
});
