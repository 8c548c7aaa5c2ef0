import { test, expect } from '@playwright/test';
import * as http from 'http';
import { AddressInfo } from 'net';
import { loginToOrg, watchForFaults } from './helpers';

/** A SIEM on loopback that keeps what it is sent. */
async function receiver(): Promise<{ url: string; got: { id: string; body: any }[]; close: () => void }> {
  const got: { id: string; body: any }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ id: String(req.headers['webhook-id']), body: JSON.parse(body) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/siem`, got, close: () => server.close() };
}

test('an owner streams the trail to a SIEM: secret once, live delivery, test event, removal', async ({ page }) => {
  const faults = watchForFaults(page);
  const siem = await receiver();
  const org = await loginToOrg(page, 'owner@acme.test');
  await page.getByRole('link', { name: 'Audit log', exact: true }).click();
  await expect(page).toHaveURL(`/orgs/${org}/audit`);
  await page.getByRole('link', { name: 'Streams', exact: true }).click();
  await expect(page).toHaveURL(`/orgs/${org}/audit/streams`);
  await expect(page.getByRole('heading', { name: 'Audit streams' })).toBeVisible();
  await expect(page.getByText('No streams yet.')).toBeVisible();

  // A bad URL is refused with a reason naming the field.
  await page.getByLabel('Receiver URL').fill('ftp://siem.example.com');
  await page.getByRole('button', { name: 'Add stream' }).click();
  await expect(page.getByRole('alert')).toContainText('URL must start with https:// or http://');

  // Added: the signing secret shown once.
  await page.getByLabel('Receiver URL').fill(siem.url);
  await page.getByLabel('Format').selectOption('ocsf');
  await page.getByRole('button', { name: 'Add stream' }).click();
  await expect(page.getByText(`Stream to ${siem.url} added.`)).toBeVisible();
  const secret = await page.getByLabel('New stream signing secret').inputValue();
  expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  await page.getByRole('button', { name: 'Done' }).click();
  const row = page.getByRole('row', { name: new RegExp(siem.url.replace(/[.]/g, '\\.')) });
  await expect(row).toContainText('OCSF 1.5.0');

  // Its own creation reaches the receiver as an OCSF row, signed.
  await expect.poll(() => siem.got.filter((d) => d.body.metadata?.event_code === 'audit_stream.created').length, { timeout: 20_000 }).toBe(1);
  expect(siem.got[0].body.metadata.version).toBe('1.5.0');
  await page.getByRole('button', { name: 'Refresh' }).click();
  await expect(row).toContainText('Up to date');

  // The test button: delivered, and said so.
  await row.getByRole('button', { name: 'Send test event' }).click();
  await expect(row.getByText('Test event delivered')).toBeVisible();
  expect(siem.got.some((d) => d.id.startsWith('test_'))).toBe(true);

  // Removed after confirming.
  page.once('dialog', (d) => d.accept());
  await row.getByRole('button', { name: /^Delete the stream to/ }).click();
  await expect(page.getByText('No streams yet.')).toBeVisible();
  siem.close();
  expect(faults).toEqual([]);
});
