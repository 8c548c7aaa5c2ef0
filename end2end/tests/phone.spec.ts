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

test('on a 390 px phone the editor canvas keeps the screen width and the history dialog fits', async ({ page }) => {
  const faults = watchForFaults(page);
  await loginToOrg(page, 'admin@acme.test');
  await page.getByRole('button', { name: 'Menu' }).click();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Workflows', exact: true }).click();
  await page.getByRole('link', { name: 'Onboarding' }).click();
  await expect(page.getByLabel('Workflow name')).toHaveValue('Onboarding');
  await page.locator('body[data-hydrated]').waitFor();
  const canvas = await page.getByRole('application', { name: 'Workflow canvas' }).boundingBox();
  expect(canvas!.width).toBeGreaterThanOrEqual(300);
  expect(canvas!.height).toBeGreaterThanOrEqual(300);
  await fits(page, 'Editor');

  // At a readable scale the workflow is wider than the phone: dragging the background pans
  // the last node into sight, and a tap on it opens its settings below.
  const mail = page.getByRole('button', { name: 'Node Welcome email' });
  for (let i = 0; i < 3; i++) {
    const box = (await mail.boundingBox())!;
    const dx = Math.min(box.x + box.width / 2 - (canvas!.x + canvas!.width / 2), canvas!.width - 40);
    if (dx < 20) break;
    const from = { x: canvas!.x + canvas!.width - 10, y: canvas!.y + canvas!.height - 20 };
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(from.x - dx, from.y, { steps: 8 });
    await page.mouse.up();
  }
  await mail.click();
  await expect(page.getByRole('complementary', { name: 'Node settings' })).toBeVisible();
  await expect(page.getByLabel('Node label')).toHaveValue('Welcome email');

  // The history dialog fills the screen and its diff reads as lines, not one letter per line.
  await page.getByRole('button', { name: 'Version history' }).click();
  const dialog = page.getByRole('dialog', { name: 'Version history' });
  await expect(dialog).toBeVisible();
  const box = (await dialog.boundingBox())!;
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(390);
  await dialog.getByRole('button', { name: 'Version 3' }).click();
  const added = dialog.getByText('Added Has email?');
  await expect(added).toBeVisible();
  expect((await added.boundingBox())!.width).toBeGreaterThan(120);
  await fits(page, 'Version history');
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  expect(faults).toEqual([]);
});
