import { expect, Page } from '@playwright/test';

export const DEMO_PASSWORD = 'chronicle-demo';

export const E2E_PORT = Number(process.env.E2E_PORT ?? 3100);
/** The app sends mail here, to the suite's SMTP sink (global-setup.ts). */
export const SMTP_PORT = Number(process.env.E2E_SMTP_PORT ?? E2E_PORT + 25);

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

/** Fails the test on any uncaught page error, console error or 5xx answer seen on the way. */
export function watchForFaults(page: Page): string[] {
  const faults: string[] = [];
  page.on('pageerror', (e) => faults.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // Chromium logs every 4xx answer as a failed resource; a refusal the page shows is not a
    // fault (5xx answers are caught below).
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
      faults.push(`console error: ${m.text()}`);
    }
  });
  page.on('response', (r) => {
    if (r.status() >= 500) faults.push(`${r.status()} from ${r.request().method()} ${r.url()}`);
  });
  return faults;
}
