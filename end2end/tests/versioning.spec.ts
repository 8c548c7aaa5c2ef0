import { test, expect, Page, Request } from '@playwright/test';
import { loginToOrg, watchForFaults } from './helpers';

async function openWorkflow(page: Page, org: string, name: string) {
  await page.getByRole('link', { name: 'Workflows', exact: true }).click();
  await expect(page).toHaveURL(`/orgs/${org}/workflows`);
  await page.getByRole('link', { name }).click();
  await expect(page.getByLabel('Workflow name')).toHaveValue(name);
  await page.locator('body[data-hydrated]').waitFor();
}

async function drag(page: Page, nodeId: string, dx: number, dy: number) {
  const box = await page.locator(`[data-node-id="${nodeId}"] rect`).first().boundingBox();
  if (!box) throw new Error(`node ${nodeId} not on the canvas`);
  const x = box.x + box.width / 2, y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + dx / 2, y + dy / 2, { steps: 5 });
  await page.mouse.move(x + dx, y + dy, { steps: 5 });
  await page.mouse.up();
}

/** A workflow made through the REST API (201); its API path. */
async function createWorkflow(page: Page, org: string, name: string, nodes: object[] = [START], edges: object[] = []) {
  const created = await page.request.post(`/api/v1/orgs/${org}/workflows`, { data: { name, nodes, edges } });
  expect(created.status()).toBe(201);
  return `/api/v1/orgs/${org}/workflows/${(await created.json()).id}`;
}

const START = { id: 't', type: 'manual_trigger', position: { x: 40, y: 40 }, data: { label: 'Start', config: {} } };

function workflowPath(page: Page, org: string) {
  const id = new URL(page.url()).pathname.split('/')[4];
  return `/api/v1/orgs/${org}/workflows/${id}`;
}

test('an admin edits, reviews history, previews read-only and restores', async ({ page }) => {
  const org = await loginToOrg(page, 'admin@acme.test');
  await openWorkflow(page, org, 'Onboarding');
  const api = workflowPath(page, org);
  const versionsBefore = (await (await page.request.get(`${api}/history`)).json()).versions.length;
  expect(versionsBefore).toBe(3);
  const status = page.getByRole('status');
  await expect(status).toHaveText('Saved · v3');

  // Dragging a node saves the position but makes no version.
  await drag(page, 'fetch', 60, 90);
  await expect(status).toHaveText('Saved');
  expect((await (await page.request.get(`${api}/history`)).json()).versions.length).toBe(3);
  const live = await (await page.request.get(api)).json();
  expect(live.nodes.find((n: any) => n.id === 'fetch').position.y).toBeGreaterThan(150);

  // Renaming a node is a semantic change: a new version.
  await page.getByRole('button', { name: 'Node Welcome email' }).click();
  const label = page.getByLabel('Node label');
  await label.fill('Welcome mail');
  await label.press('Tab');
  await expect(status).toHaveText('Saved · v4');

  // History shows the rename as before → after.
  await page.getByRole('button', { name: 'Version history' }).click();
  const dialog = page.getByRole('dialog', { name: 'Version history' });
  await expect(dialog).toBeVisible();
  const v4 = dialog.getByRole('button', { name: 'Version 4' });
  await expect(v4).toContainText('Current');
  await expect(v4).toContainText('Ada Admin');
  await expect(dialog.getByText('label: "Welcome email" → "Welcome mail"')).toBeVisible();

  // Version 2 → 3 added a condition between fetch and mail.
  await dialog.getByRole('button', { name: 'Version 3' }).click();
  await expect(dialog.getByText('Added Has email?')).toBeVisible();
  await expect(dialog.getByText('Connected Fetch user profile → Has email?')).toBeVisible();

  // Preview version 3 read-only: no save request may leave the browser.
  const writes: Request[] = [];
  page.on('request', (r) => { if (r.method() !== 'GET' && /save_workflow|\/api\/v1\//.test(r.url())) writes.push(r); });
  await dialog.getByRole('button', { name: 'View on canvas' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByText(/^Viewing version 3 \(Ada Admin, .+\) — read-only$/)).toBeVisible();
  await expect(page.locator('[data-node-id="mail"]')).toHaveClass(/changed/);
  await drag(page, 'fetch', 80, 40);
  await page.keyboard.press('Delete');
  await page.waitForTimeout(1500);
  expect(writes.map((r) => r.url())).toEqual([]);
  await expect(page.getByLabel('Workflow name')).toBeDisabled();

  // The preview is in the URL: a reload keeps it, Back returns to the open history.
  await expect(page).toHaveURL(/\?preview=3$/);
  await page.reload();
  await expect(page.getByText(/^Viewing version 3 \(Ada Admin, .+\) — read-only$/)).toBeVisible();
  await page.goBack();
  await expect(page).toHaveURL(/\?history=1$/);
  await expect(dialog).toBeVisible();
  await expect(page.getByText(/^Viewing version 3/)).toHaveCount(0);
  // Tab keeps the focus inside the dialog (both ways); Escape closes it and gives the focus
  // back to its button.
  for (const key of ['Tab', 'Shift+Tab']) {
    for (let i = 0; i < 30; i++) await page.keyboard.press(key);
    expect(await dialog.evaluate((d) => d.contains(document.activeElement)), `${key} stays in the dialog`).toBe(true);
  }
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('button', { name: 'Version history' })).toBeFocused();

  // Exit returns to the live workflow unchanged.
  await page.getByRole('button', { name: 'Version history' }).click();
  await dialog.getByRole('button', { name: 'Version 3' }).click();
  await dialog.getByRole('button', { name: 'View on canvas' }).click();
  await page.getByRole('button', { name: 'Exit preview' }).click();
  await expect(page.getByText(/^Viewing version 3/)).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Node Welcome mail' })).toBeVisible();
  await expect(status).toHaveText('Saved · v4');

  // Preview again and restore, confirming the dialog.
  await page.getByRole('button', { name: 'Version history' }).click();
  await dialog.getByRole('button', { name: 'Version 3' }).click();
  await dialog.getByRole('button', { name: 'View on canvas' }).click();
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Restore this version' }).click();
  await expect(page.getByText('Restored version 3 as version 5.')).toBeVisible();
  await expect(status).toHaveText('Saved · v5');
  await expect(page.getByRole('button', { name: 'Node Welcome email' })).toBeVisible();
  const top = (await (await page.request.get(`${api}/history?limit=1`)).json()).versions[0];
  expect([top.version, top.source]).toEqual([5, 'restore']);

  // The overlay closes with Escape and shows the restore as current.
  await page.getByRole('button', { name: 'Version history' }).click();
  await expect(dialog.getByRole('button', { name: 'Version 5' })).toContainText('Current');
  await expect(dialog.getByRole('button', { name: 'Version 5' })).toContainText('restored');
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
});

test('a member edits but sees no version history', async ({ page }) => {
  const org = await loginToOrg(page, 'member@acme.test');
  await openWorkflow(page, org, 'Invoice sync');
  await expect(page.getByRole('button', { name: 'Version history' })).toHaveCount(0);
  const api = workflowPath(page, org);
  expect((await page.request.get(`${api}/history`)).status()).toBe(403);
  expect((await page.request.get(`${api}?version=1`)).status()).toBe(403);
  expect((await page.request.get(api)).status()).toBe(200);
});

test('a new workflow is created, built on the canvas and autosaved', async ({ page }) => {
  const org = await loginToOrg(page, 'owner@acme.test');
  await page.getByRole('link', { name: 'Workflows', exact: true }).click();
  await page.locator('body[data-hydrated]').waitFor();
  await page.getByLabel('New workflow name').fill('Nightly report');
  await page.getByRole('button', { name: 'Create workflow' }).click();
  await expect(page.getByLabel('Workflow name')).toHaveValue('Nightly report');
  await page.locator('body[data-hydrated]').waitFor();
  await expect(page.getByRole('status')).toHaveText('Saved · v1');
  await page.getByRole('button', { name: 'Add HTTP request' }).click();
  await expect(page.getByRole('status')).toHaveText('Saved · v2');
  await page.getByLabel('URL').fill('https://reports.acme.test/nightly');
  await page.getByLabel('URL').press('Tab');
  await expect(page.getByRole('status')).toHaveText('Saved · v3');
  // Connect Start → HTTP request by dragging from the output handle to the input handle.
  const out = await page.locator('[data-node-id="trigger"] .handle.out').boundingBox();
  const inn = await page.locator('[data-node-id="http_request_1"] .handle.in').boundingBox();
  if (!out || !inn) throw new Error('handles not found');
  await page.mouse.move(out.x + out.width / 2, out.y + out.height / 2);
  await page.mouse.down();
  await page.mouse.move(inn.x + inn.width / 2, inn.y + inn.height / 2, { steps: 8 });
  await page.mouse.up();
  await expect(page.getByRole('status')).toHaveText('Saved · v4');
  const api = workflowPath(page, org);
  const w = await (await page.request.get(api)).json();
  expect(w.edges.map((e: any) => `${e.source}->${e.target}`)).toEqual(['trigger->http_request_1']);
  expect(w.nodes.find((n: any) => n.id === 'http_request_1').data.config.url).toBe('https://reports.acme.test/nightly');

  // A node from the palette lands where no other is; connections are made and removed from
  // the keyboard too.
  await page.getByRole('button', { name: 'Add Send email' }).click();
  await expect(page.getByRole('status')).toHaveText('Saved · v5');
  const boxes = await Promise.all(['trigger', 'http_request_1', 'send_email_1'].map(async (id) => (await page.locator(`[data-node-id="${id}"] rect`).first().boundingBox())!));
  for (const [i, a] of boxes.entries()) for (const b of boxes.slice(i + 1)) {
    const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
    expect(apart, 'palette nodes do not cover each other').toBe(true);
  }
  await page.getByRole('button', { name: 'Node HTTP request' }).focus();
  await page.getByLabel('Connect to').selectOption({ label: 'Send email' });
  await expect(page.getByRole('status')).toHaveText('Saved · v6');
  const connected = await (await page.request.get(api)).json();
  expect(connected.edges.map((e: any) => `${e.source}->${e.target}`).sort()).toEqual(['http_request_1->send_email_1', 'trigger->http_request_1']);
  await page.getByRole('button', { name: 'Disconnect Send email' }).click();
  await expect(page.getByRole('status')).toHaveText('Saved · v7');
  expect((await (await page.request.get(api)).json()).edges.length).toBe(1);
});

test('two editors at once: the later save is refused and offers compare, reload or keep mine', async ({ page, browser }) => {
  const org = await loginToOrg(page, 'admin@acme.test');
  await createWorkflow(page, org, 'Shared draft');
  await openWorkflow(page, org, 'Shared draft');

  const ownerContext = await browser.newContext();
  const owner = await ownerContext.newPage();
  await loginToOrg(owner, 'owner@acme.test');
  await openWorkflow(owner, org, 'Shared draft');
  await owner.getByRole('button', { name: 'Node Start' }).click();
  await owner.getByLabel('Node label').fill('Begin');
  await owner.getByLabel('Node label').press('Tab');
  await expect(owner.getByRole('status')).toHaveText('Saved · v2');

  // The admin still holds v1: their edit is not saved over the owner's.
  await page.getByRole('button', { name: 'Node Start' }).click();
  await page.getByLabel('Node label').fill('Kick-off');
  await page.getByLabel('Node label').press('Tab');
  const status = page.getByRole('status');
  await expect(status).toContainText('Not saved: Olive Owner saved version 2');
  await expect(status.getByRole('button', { name: 'Keep mine' })).toBeVisible();
  const live = await (await page.request.get(workflowPath(page, org))).json();
  expect(live.nodes[0].data.label).toBe('Begin');

  await status.getByRole('button', { name: 'Reload theirs' }).click();
  await expect(page.getByRole('button', { name: 'Node Begin' })).toBeVisible();
  await ownerContext.close();
});

test('an edit is never lost: text typed and left at once, a rename, a node added just before leaving', async ({ page }) => {
  const faults = watchForFaults(page);
  const org = await loginToOrg(page, 'admin@acme.test');
  const api = await createWorkflow(page, org, 'Leaving fast', [
    START,
    { id: 'mail', type: 'send_email', position: { x: 300, y: 40 }, data: { label: 'Welcome email', config: { to: 'a@acme.test', subject: 'Hi', body: 'Hello' } } },
  ], [{ id: 'e1', source: 't', target: 'mail' }]);
  const live = async () => (await page.request.get(api)).json();

  // Typed into Body, then straight to another page: the status was honest, and the text is kept.
  await openWorkflow(page, org, 'Leaving fast');
  await page.getByRole('button', { name: 'Node Welcome email' }).click();
  await page.getByLabel('Body').fill('Hello and welcome aboard — typed and left at once.');
  await expect(page.getByRole('status')).toHaveText('Unsaved changes…');
  await page.getByRole('link', { name: 'Workflows', exact: true }).click();
  await expect(page).toHaveURL(`/orgs/${org}/workflows`);
  await expect.poll(async () => (await live()).nodes.find((n: any) => n.id === 'mail').data.config.body)
    .toBe('Hello and welcome aboard — typed and left at once.');

  // A rename typed and left by the browser's Back.
  await page.getByRole('link', { name: 'Leaving fast' }).click();
  await page.locator('body[data-hydrated]').waitFor();
  await page.getByLabel('Workflow name').fill('Left in a hurry');
  await page.goBack();
  await expect(page).toHaveURL(`/orgs/${org}/workflows`);
  await expect.poll(async () => (await live()).name).toBe('Left in a hurry');

  // A palette node added a moment before leaving.
  await page.reload();
  await page.getByRole('link', { name: 'Left in a hurry' }).click();
  await expect(page.getByLabel('Workflow name')).toHaveValue('Left in a hurry');
  await page.locator('body[data-hydrated]').waitFor();
  await page.getByRole('button', { name: 'Add HTTP request' }).click();
  await page.getByRole('link', { name: 'Executions', exact: true }).click();
  await expect(page).toHaveURL(`/orgs/${org}/executions`);
  await expect.poll(async () => (await live()).nodes.map((n: any) => n.id)).toContain('http_request_1');

  // Timers of the editor that is gone fire harmlessly.
  await page.waitForTimeout(2500);
  expect(faults).toEqual([]);
});

test('a save the server refuses says why and offers Retry', async ({ page }) => {
  const faults = watchForFaults(page);
  const org = await loginToOrg(page, 'admin@acme.test');
  const api = await createWorkflow(page, org, 'Named');
  await openWorkflow(page, org, 'Named');
  const name = page.getByLabel('Workflow name');
  await name.fill('');
  await name.press('Tab');
  const status = page.getByRole('status');
  await expect(status).toContainText(/^Not saved: Name must .+ — Retry$/);
  await name.fill('Named again');
  await name.press('Tab');
  // A rename alone is saved (and audited) without a new version of the definition.
  await expect(status).toHaveText('Saved');
  expect((await (await page.request.get(api)).json()).name).toBe('Named again');
  expect(faults).toEqual([]);
});
