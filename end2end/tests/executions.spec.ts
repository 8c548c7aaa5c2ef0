import { test, expect, Page } from '@playwright/test';
import { loginToOrg } from './helpers';

/** A workflow that runs anywhere: a manual trigger and a condition on the payload. */
async function createRunnable(page: Page, org: string, name: string): Promise<string> {
  const res = await page.request.post(`/api/v1/orgs/${org}/workflows`, {
    data: {
      name,
      nodes: [
        { id: 'start', type: 'manual_trigger', position: { x: 40, y: 80 }, data: { label: 'Start', config: {} } },
        { id: 'check', type: 'condition', position: { x: 280, y: 80 }, data: { label: 'Big order', config: { expression: 'amount > 10' } } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'check' }],
    },
  });
  expect(res.status()).toBe(201);
  return (await res.json()).id;
}

test('an owner runs a workflow with an org key, revokes it, and the run still names the key and links the version that ran', async ({ page }) => {
  const org = await loginToOrg(page, 'owner@acme.test');
  const workflow = await createRunnable(page, org, 'E2E key run');
  const created = await page.request.post(`/api/v1/orgs/${org}/api-keys`, { data: { name: 'E2E runner', scopes: ['workflows:execute'] } });
  expect(created.status()).toBe(201);
  const { key, secret } = await created.json();
  const run = await page.request.post(`/api/v1/orgs/${org}/workflows/${workflow}/executions`, {
    headers: { Authorization: `Bearer ${secret}` },
    data: { payload: { amount: 12 } },
  });
  expect(run.status()).toBe(202);
  expect((await page.request.delete(`/api/v1/orgs/${org}/api-keys/${key.id}`)).status()).toBe(200);
  // A later edit makes version 2; the run stays with version 1.
  const live = await (await page.request.get(`/api/v1/orgs/${org}/workflows/${workflow}`)).json();
  live.nodes.find((n: { id: string }) => n.id === 'check').data.config.expression = 'amount > 100';
  expect((await page.request.put(`/api/v1/orgs/${org}/workflows/${workflow}`, { data: { nodes: live.nodes, edges: live.edges } })).status()).toBe(200);

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Executions', exact: true }).click();
  await expect(page).toHaveURL(`/orgs/${org}/executions`);
  await expect(page.getByText('Every run in this organisation, newest first.')).toBeVisible();
  const row = page.getByRole('row', { name: /E2E key run/ });
  await expect(row).toContainText(`Org key · E2E runner (${key.display})`);
  await expect(row).toContainText('api');

  // Filters live in the URL.
  await page.getByLabel('Credential').selectOption('org_api_key');
  await expect(page).toHaveURL(/credential_type=org_api_key/);
  await expect(page.getByRole('row', { name: /E2E key run/ })).toHaveCount(1);
  await page.getByLabel('Workflow').selectOption({ label: 'E2E key run' });
  await expect(page).toHaveURL(/workflow_id=.*credential_type=org_api_key|credential_type=org_api_key.*workflow_id=/);
  await expect(page.getByRole('row', { name: /E2E key run/ })).toHaveCount(1);

  // The run's detail: its steps, succeeded.
  await page.getByRole('row', { name: /E2E key run/ }).getByRole('link').first().click();
  await expect(page.getByRole('heading', { name: 'Run of E2E key run' })).toBeVisible();
  for (let i = 0; i < 20 && !(await page.locator('.facts .status.succeeded').count()); i++) {
    await page.waitForTimeout(250);
    await page.reload();
    await page.locator('body[data-hydrated]').waitFor();
  }
  await expect(page.locator('.facts .status')).toHaveText('succeeded');
  await expect(page.locator('.steps li')).toHaveCount(2);
  await expect(page.locator('.steps li').nth(1)).toContainText('Big order');

  // "v1" opens that exact snapshot, read-only.
  await page.getByRole('link', { name: 'v1', exact: true }).click();
  await expect(page.getByRole('region', { name: 'Preview' })).toContainText('Viewing version 1');
  await expect(page.getByRole('application', { name: 'Workflow canvas' })).toBeVisible();
  await expect(page.locator('.error-panel')).toHaveCount(0);
});

test('an owner stores a credential and creates a webhook key, each secret shown once at most', async ({ page }) => {
  const org = await loginToOrg(page, 'owner@acme.test');
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Settings', exact: true }).click();
  await expect(page).toHaveURL(`/orgs/${org}/settings`);
  const credentials = page.getByRole('region', { name: 'Credentials' });
  await credentials.getByLabel('Name').fill('E2E billing token');
  await credentials.getByLabel('Secret').fill('e2e-very-secret-token');
  await credentials.getByLabel('Allowed hosts', { exact: true }).fill('billing.example.com, *.pay.example.com');
  await credentials.getByRole('button', { name: 'Add credential' }).click();
  await expect(credentials.getByRole('row', { name: /E2E billing token/ })).toBeVisible();
  await expect(credentials.getByRole('row', { name: /E2E billing token/ })).toContainText('billing.example.com *.pay.example.com');
  // Owners and admins change where it may go, in place.
  await credentials.getByRole('button', { name: 'Edit allowed hosts of E2E billing token' }).click();
  await credentials.getByLabel('Allowed hosts of E2E billing token').fill('api.billing.example.com');
  await credentials.getByRole('button', { name: 'Save hosts' }).click();
  await expect(credentials.getByRole('row', { name: /E2E billing token/ })).toContainText('api.billing.example.com');
  await expect(credentials.getByRole('row', { name: /E2E billing token/ })).not.toContainText('*.pay.example.com');
  await expect(credentials.getByLabel('Secret')).toHaveValue('');
  await page.reload();
  await page.locator('body[data-hydrated]').waitFor();
  await expect(credentials.getByRole('row', { name: /E2E billing token/ })).toBeVisible();
  expect(await page.content()).not.toContain('e2e-very-secret-token');

  // The workflow's webhook keys, from its editor.
  await createRunnable(page, org, 'E2E hooks');
  await nav.getByRole('link', { name: 'Workflows', exact: true }).click();
  await page.getByRole('link', { name: 'E2E hooks' }).click();
  await page.getByRole('button', { name: 'Webhook keys' }).click();
  const hooks = page.getByRole('region', { name: 'Webhook keys' });
  await expect(hooks.getByText('No webhook keys yet.')).toBeVisible();
  await hooks.getByLabel('Name').fill('Shop');
  await hooks.getByRole('button', { name: 'Create webhook key' }).click();
  const secret = await hooks.getByLabel('New webhook key').inputValue();
  expect(secret).toMatch(/^whk_[0-9A-Za-z]{49}$/);
  await hooks.getByRole('button', { name: 'Done' }).click();
  const row = hooks.getByRole('row', { name: /Shop/ });
  await expect(row).toContainText(`whk_…${secret.slice(-4)}`);
  page.once('dialog', (d) => d.accept());
  await row.getByRole('button', { name: 'Revoke Shop' }).click();
  await expect(hooks.getByRole('row', { name: /Shop/ })).toContainText('Revoked');
  await expect(page.locator('.error-panel')).toHaveCount(0);
});

test('a member runs a workflow from the editor and sees only their own runs', async ({ page }) => {
  const org = await loginToOrg(page, 'member@acme.test');
  await createRunnable(page, org, 'E2E member run');
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Workflows', exact: true }).click();
  await page.getByRole('link', { name: 'E2E member run' }).click();
  await expect(page.getByRole('application', { name: 'Workflow canvas' })).toBeVisible();
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(page.getByText('Run queued.')).toBeVisible();
  await page.getByRole('link', { name: 'View the run' }).click();
  await expect(page.getByRole('heading', { name: 'Run of E2E member run' })).toBeVisible();
  await expect(page.locator('.facts')).toContainText('Signed in · Max Member');
  await expect(page.locator('.facts')).toContainText('manual');

  await nav.getByRole('link', { name: 'Executions', exact: true }).click();
  await expect(page.getByText('Your runs, newest first.')).toBeVisible();
  const rows = page.locator('table.executions tbody tr');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('E2E member run');
  await expect(page.locator('table.executions')).not.toContainText('Org key');
});
