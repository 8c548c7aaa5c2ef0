import { test, expect, request as playwrightRequest, Page } from '@playwright/test';
import { E2E_PORT, DEMO_PASSWORD, loginToOrg, watchForFaults } from './helpers';

/** The suite's own server: a loopback target the credential may be sent to. */
const TARGET = `http://127.0.0.1:${E2E_PORT}/healthz`;

/** As the owner, through the API: a credential allowed to reach 127.0.0.1 and a workflow
 * whose HTTP request node sends it. Returns the workflow's id. */
async function credentialedWorkflow(name: string): Promise<string> {
  const owner = await playwrightRequest.newContext({ baseURL: `http://127.0.0.1:${E2E_PORT}` });
  const login = await owner.post('/api/v1/auth/login', { data: { email: 'owner@acme.test', password: DEMO_PASSWORD } });
  expect(login.status()).toBe(200);
  const org = (await login.json()).orgs[0].id;
  const cred = await owner.post(`/api/v1/orgs/${org}/credentials`, { data: { name: `${name} token`, secret: 'e2e-approval-secret-123', allowed_hosts: ['127.0.0.1'] } });
  expect(cred.status()).toBe(201);
  const created = await owner.post(`/api/v1/orgs/${org}/workflows`, {
    data: {
      name,
      nodes: [
        { id: 'start', type: 'manual_trigger', position: { x: 40, y: 80 }, data: { label: 'Start', config: {} } },
        { id: 'deploy', type: 'http_request', position: { x: 300, y: 80 },
          data: { label: 'Deploy', config: { url: `${TARGET}?from=v1`, method: 'GET', credential_id: (await cred.json()).id } } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'deploy' }],
    },
  });
  expect(created.status()).toBe(201);
  const id = (await created.json()).id;
  await owner.dispose();
  return id;
}

async function openWorkflow(page: Page, org: string, name: string) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Workflows', exact: true }).click();
  await expect(page).toHaveURL(`/orgs/${org}/workflows`);
  await page.getByRole('link', { name }).click();
  await expect(page.getByLabel('Workflow name')).toHaveValue(name);
  await page.locator('body[data-hydrated]').waitFor();
}

async function signOut(page: Page) {
  await page.context().clearCookies();
}

test("a member's change to a credentialed workflow waits for an admin, whose approval makes the next run use it", async ({ page }) => {
  const faults = watchForFaults(page);
  const name = 'E2E approvals';
  const id = await credentialedWorkflow(name);

  // The member points the credentialed request elsewhere: saved, but waiting.
  const org = await loginToOrg(page, 'member@acme.test');
  await openWorkflow(page, org, name);
  const status = page.getByRole('status');
  await expect(status).toHaveText('Saved · v1');
  await page.getByRole('button', { name: 'Node Deploy' }).click();
  const url = page.getByLabel('URL');
  await url.fill(`${TARGET}?from=member`);
  await url.press('Tab');
  await expect(status).toHaveText('Saved · v2, waiting for approval; runs use v1');
  await expect(page.getByRole('button', { name: 'Approve' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Version history' })).toHaveCount(0);
  // Reloading says the same: the live version is the pending one.
  await page.reload();
  await page.locator('body[data-hydrated]').waitFor();
  await expect(page.getByRole('status')).toHaveText('Saved · v2, waiting for approval; runs use v1');

  // An admin reviews it in History, beside its diff, and approves.
  await signOut(page);
  await loginToOrg(page, 'admin@acme.test');
  await openWorkflow(page, org, name);
  // Until then a run uses the approved version.
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(page.getByText('Run queued.')).toBeVisible();
  const runs = await (await page.request.get(`/api/v1/orgs/${org}/executions?workflow_id=${id}`)).json();
  expect(runs.executions[0].version).toBe(1);
  await page.getByRole('button', { name: 'Version history' }).click();
  const dialog = page.getByRole('dialog', { name: 'Version history' });
  const v2 = dialog.getByRole('button', { name: 'Version 2' });
  await expect(v2).toContainText('Pending approval');
  await expect(v2).toContainText('Max Member');
  await v2.click();
  await expect(dialog.getByText(/config\.url/).first()).toBeVisible();
  await expect(dialog.getByText(/from=member/).first()).toBeVisible();
  const review = dialog.getByRole('group', { name: 'Review version 2' });
  await review.getByRole('button', { name: 'Approve' }).click();
  await expect(v2).not.toContainText('Pending approval');
  await expect(dialog.getByText('Approved by Ada Admin')).toBeVisible();
  await dialog.getByRole('button', { name: 'Close' }).click();

  // The next run uses the approved version; the run page links it.
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.getByRole('link', { name: 'View the run' }).click();
  await expect(page.getByRole('heading', { name: `Run of ${name}` })).toBeVisible();
  await expect(page.getByRole('link', { name: 'v2' })).toBeVisible();
  await expect.poll(async () => (await (await page.request.get(`/api/v1/orgs/${org}/executions?workflow_id=${id}`)).json()).executions[0].version).toBe(2);
  await expect(page.locator('.error-panel')).toHaveCount(0);
  expect(faults).toEqual([]);
});

test("an owner rejects a member's version with a reason; an approved version offers nothing to review", async ({ page }) => {
  const faults = watchForFaults(page);
  const name = 'E2E rejected';
  await credentialedWorkflow(name);
  const org = await loginToOrg(page, 'member@acme.test');
  await openWorkflow(page, org, name);
  await page.getByRole('button', { name: 'Node Deploy' }).click();
  await page.getByLabel('Node label').fill('Deploy everywhere');
  await page.getByLabel('Node label').press('Tab');
  await expect(page.getByRole('status')).toHaveText('Saved · v2, waiting for approval; runs use v1');

  await signOut(page);
  await loginToOrg(page, 'owner@acme.test');
  await openWorkflow(page, org, name);
  await page.getByRole('button', { name: 'Version history' }).click();
  const dialog = page.getByRole('dialog', { name: 'Version history' });
  await dialog.getByRole('button', { name: 'Version 2' }).click();
  const review = dialog.getByRole('group', { name: 'Review version 2' });
  await review.getByLabel('Reason (for a rejection)').fill('Deploys must stay named');
  await review.getByRole('button', { name: 'Reject' }).click();
  await expect(dialog.getByRole('button', { name: 'Version 2' })).toContainText('Rejected');
  await expect(dialog.getByText('Rejected by Olive Owner: Deploys must stay named')).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Approve' })).toHaveCount(0);
  // The owner's own version (v1) offers nothing to review.
  await dialog.getByRole('button', { name: 'Version 1' }).click();
  await expect(dialog.getByRole('group', { name: /Review version/ })).toHaveCount(0);
  expect(faults).toEqual([]);
});
