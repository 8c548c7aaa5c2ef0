import { test, expect } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';
import { loginToOrg, watchForFaults } from './helpers';

/** The mails the suite's SMTP sink (global-setup.ts) has received so far. */
function mails(): string[] {
  const dir = process.env.E2E_MAIL_DIR!;
  return fs.readdirSync(dir).sort().map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
}

/** Quoted-printable, as MIME parts of long lines are sent. */
function unQuote(text: string): string {
  return text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
}

test('an owner turns on engagement, a workflow mail is opened and clicked, and the Engagement page shows the funnel and events', async ({ page, playwright }) => {
  const faults = watchForFaults(page);
  const org = await loginToOrg(page, 'owner@acme.test');
  const nav = page.getByRole('navigation', { name: 'Main' });

  // Settings: off by default; turned on and saved.
  await nav.getByRole('link', { name: 'Settings', exact: true }).click();
  const settings = page.getByRole('region', { name: 'Email engagement' });
  const toggle = settings.getByRole('checkbox', { name: 'Record email engagement' });
  await expect(toggle).not.toBeChecked();
  await toggle.check();
  await settings.getByRole('button', { name: 'Save settings' }).click();
  await expect(settings.getByRole('status')).toHaveText('Settings saved.');
  await expect(toggle).toBeChecked();

  // A workflow that mails a link, run from the editor.
  const res = await page.request.post(`/api/v1/orgs/${org}/workflows`, {
    data: {
      name: 'E2E newsletter',
      nodes: [
        { id: 'start', type: 'manual_trigger', position: { x: 40, y: 80 }, data: { label: 'Start', config: {} } },
        { id: 'mail', type: 'send_email', position: { x: 300, y: 80 }, data: { label: 'Mail the report', config: { to: 'reader@example.com', subject: 'Your weekly report', body: 'Hello!\nRead it here: https://reports.example.com/weekly?id=7' } } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'mail' }],
    },
  });
  expect(res.status()).toBe(201);
  await nav.getByRole('link', { name: 'Workflows', exact: true }).click();
  await page.getByRole('link', { name: 'E2E newsletter' }).click();
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(page.getByText('Run queued.')).toBeVisible();

  // The mail arrives with its code, a pixel and a tracked link.
  await expect.poll(() => mails().filter((m) => m.includes('Your weekly report')).length, { timeout: 30_000 }).toBe(1);
  const mail = mails().find((m) => m.includes('Your weekly report'))!;
  expect(mail).toBeTruthy();
  const code = /X-Chronicle-Tracking-Code: (\S+)/.exec(mail)![1];
  const decoded = unQuote(mail);
  expect(decoded).toContain(`/t/o/${code}`);
  const link = /(http:\/\/[^\s"<]+\/t\/c\/[A-Za-z0-9_.-]+)/.exec(decoded)![1];

  // The reader's mail client loads the pixel and follows the link.
  const reader = await playwright.request.newContext();
  const pixel = await reader.get(`/t/o/${code}`, { baseURL: new URL(page.url()).origin });
  expect(pixel.headers()['content-type']).toBe('image/gif');
  const click = await reader.get(link, { maxRedirects: 0 });
  expect(click.status()).toBe(302);
  expect(click.headers()['location']).toBe('https://reports.example.com/weekly?id=7');
  await reader.dispose();

  // The Engagement page, from the editor.
  await page.getByRole('link', { name: 'Engagement', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Email engagement' })).toBeVisible();
  const funnel = page.getByRole('img', { name: /^Funnel:/ });
  for (let i = 0; i < 40 && !(await funnel.getAttribute('aria-label'))?.includes('Clicked 1'); i++) {
    await page.waitForTimeout(250);
    await page.reload();
    await page.locator('body[data-hydrated]').waitFor();
  }
  await expect(funnel).toHaveAttribute('aria-label', 'Funnel: Sent 1, Delivered 0, Opened 1, Clicked 1');
  await expect(page.getByRole('img', { name: /per day/ })).toBeVisible();
  const events = page.getByRole('region', { name: 'Events' });
  await expect(events.getByRole('row')).toHaveCount(4);
  await expect(events.getByRole('row', { name: /Clicked/ })).toContainText('https://reports.example.com/weekly?id=7');
  await expect(events.getByRole('row', { name: /Opened/ })).toContainText('reader@example.com');
  // The filter narrows the list.
  await events.getByLabel('Event').selectOption({ label: 'Sent' });
  await expect(events.getByRole('row')).toHaveCount(2);

  // The Outbox shows the mail's tracking state.
  await nav.getByRole('link', { name: 'Outbox', exact: true }).click();
  await expect(page.locator('.mail', { hasText: 'Your weekly report' }).locator('.tracking-state')).toHaveText('tracked · opened · clicked');
  await expect(page.locator('.error-panel')).toHaveCount(0);
  expect(faults).toEqual([]);
});
