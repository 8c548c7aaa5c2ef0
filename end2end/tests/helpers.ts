import { expect, Page } from '@playwright/test';

export const DEMO_PASSWORD = 'chronicle-demo';

/** Opens the login page, waits for hydration, signs in and waits for the org page. */
export async function login(page: Page, email: string, password = DEMO_PASSWORD) {
  await page.goto('/login');
  await page.locator('body[data-hydrated]').waitFor();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Signs in and returns the id of the first org, read from the URL it lands on. */
export async function loginToOrg(page: Page, email: string): Promise<string> {
  await login(page, email);
  await expect(page).toHaveURL(/\/orgs\/[^/]+$/);
  await page.locator('body[data-hydrated]').waitFor();
  return new URL(page.url()).pathname.split('/')[2];
}
