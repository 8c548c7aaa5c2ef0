// What a first-time user stumbled on (issue "The product as users meet it, round 2"): each
// test walks there by clicking, at the width where it was found.
import { test, expect, Page, Locator, CDPSession } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { loginToOrg, watchForFaults } from './helpers';

const PHONE = { viewport: { width: 390, height: 844 } };
const DESKTOP = { viewport: { width: 1366, height: 900 } };

/** Follows a link of the main navigation, through the Menu button where it is folded. */
async function go(page: Page, name: string) {
  const menu = page.getByRole('button', { name: 'Menu' });
  if (await menu.isVisible()) await menu.click();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
  await page.waitForLoadState('networkidle');
  await expect(page.locator('.loading')).toHaveCount(0);
}

/** A screenshot for the README, when SCREENSHOT_DIR asks for them. */
async function shoot(page: Page, name: string) {
  const dir = process.env.SCREENSHOT_DIR;
  if (dir) await page.screenshot({ path: `${dir}/${name}.png` });
}

type Node = { id: string; type: string; label: string; x: number; y: number; config?: object };
const node = ({ id, type, label, x, y, config }: Node) => ({ id, type, position: { x, y }, data: { label, config: config ?? {} } });
const START: Node = { id: 't', type: 'manual_trigger', label: 'Start', x: 40, y: 40 };

/** A workflow made through the REST API; its API path. */
async function createWorkflow(page: Page, org: string, name: string, nodes: Node[], edges: object[] = []) {
  const created = await page.request.post(`/api/v1/orgs/${org}/workflows`, { data: { name, nodes: nodes.map(node), edges } });
  expect(created.status()).toBe(201);
  return `/api/v1/orgs/${org}/workflows/${(await created.json()).id}`;
}

async function openEditor(page: Page, name: string) {
  await go(page, 'Workflows');
  await page.getByRole('link', { name, exact: true }).click();
  await expect(page.getByLabel('Workflow name')).toHaveValue(name);
  await page.locator('body[data-hydrated]').waitFor();
}

async function center(l: Locator) {
  const b = (await l.boundingBox())!;
  return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
}

/** Real touch input, as a phone's screen sends it. */
async function touches(cdp: CDPSession, type: 'touchStart' | 'touchMove' | 'touchEnd', points: { x: number; y: number }[]) {
  await cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points.map((p, id) => ({ ...p, id })) });
}

async function zoom(page: Page) {
  const t = await page.locator('.canvas svg > g[transform]').getAttribute('transform');
  return Number(/scale\(([\d.]+)\)/.exec(t!)![1]);
}

async function createKey(page: Page, name: string) {
  await go(page, 'API keys');
  const orgKeys = page.getByRole('region', { name: 'Organisation keys' });
  await orgKeys.getByLabel('Name').fill(name);
  await orgKeys.getByLabel('workflows:read').check();
  await orgKeys.getByRole('button', { name: 'Create key' }).click();
  return orgKeys;
}

for (const [width, use] of [['390 px', PHONE], ['1366 px', DESKTOP]] as const) {
  test.describe(`at ${width}`, () => {
    test.use(use);
    test(`1, 7: a new key reads exactly, every character in sight, and Done stays in its card (${width})`, async ({ page }) => {
      const faults = watchForFaults(page);
      await loginToOrg(page, 'owner@acme.test');
      const orgKeys = await createKey(page, `Exact ${width}`);
      const box = orgKeys.getByLabel('New API key');
      const secret = await box.inputValue();
      expect(secret).toMatch(/^chr_org_[0-9A-Za-z]{49}$/);
      // Nothing clipped or scrolled away: the whole key fits its box, in lines tall enough
      // for an underscore.
      const fit = await box.evaluate((el: HTMLTextAreaElement) => {
        const s = getComputedStyle(el);
        return { overflowY: el.scrollHeight - el.clientHeight, overflowX: el.scrollWidth - el.clientWidth, line: parseFloat(s.lineHeight) / parseFloat(s.fontSize) };
      });
      expect(fit.overflowY).toBeLessThanOrEqual(1);
      expect(fit.overflowX).toBeLessThanOrEqual(1);
      expect(fit.line).toBeGreaterThanOrEqual(1.4);
      const card = (await orgKeys.locator('.secret-reveal').boundingBox())!;
      for (const name of ['Copy', 'Done']) {
        const b = (await orgKeys.getByRole('button', { name, exact: true }).boundingBox())!;
        expect(b.x + b.width, `${name} inside the card`).toBeLessThanOrEqual(card.x + card.width);
      }
      if (width === '390 px') await shoot(page, 'new-key-390');
      await orgKeys.getByRole('button', { name: 'Done' }).click();
      await expect(orgKeys.getByLabel('New API key')).toHaveCount(0);
      expect(faults).toEqual([]);
    });
  });
}

test.describe('on a phone', () => {
  test.use({ ...PHONE, hasTouch: true, isMobile: true });

  test('2: a finger connects two nodes, a pinch zooms, and Fit keeps labels readable', async ({ page }) => {
    const faults = watchForFaults(page);
    const org = await loginToOrg(page, 'admin@acme.test');
    const api = await createWorkflow(page, org, 'Touch connect', [START, { id: 'h', type: 'http_request', label: 'Fetch', x: 40, y: 200, config: { url: 'https://example.com', method: 'GET' } }]);
    await openEditor(page, 'Touch connect');
    await expect(page.getByRole('complementary', { name: 'Help' })).toContainText('pinch');
    await expect(page.getByRole('complementary', { name: 'Help' })).not.toContainText('scroll to zoom');

    const cdp = await page.context().newCDPSession(page);
    const from = await center(page.locator('[data-node-id="t"] .handle.out'));
    const to = await center(page.locator('[data-node-id="h"] rect').first());
    await touches(cdp, 'touchStart', [from]);
    for (let i = 1; i <= 8; i++) await touches(cdp, 'touchMove', [{ x: from.x + ((to.x - from.x) * i) / 8, y: from.y + ((to.y - from.y) * i) / 8 }]);
    await touches(cdp, 'touchEnd', []);
    await expect(page.locator('.canvas path.edge:not(.pending)')).toHaveCount(1);
    await expect.poll(async () => (await (await page.request.get(api)).json()).edges.map((e: any) => `${e.source}→${e.target}`)).toEqual(['t→h']);

    // Two fingers spread apart: the canvas zooms in.
    const before = await zoom(page);
    const c = await center(page.getByRole('application', { name: 'Workflow canvas' }));
    await touches(cdp, 'touchStart', [{ x: c.x - 20, y: c.y + 120 }, { x: c.x + 20, y: c.y + 120 }]);
    for (let i = 1; i <= 6; i++) await touches(cdp, 'touchMove', [{ x: c.x - 20 - i * 12, y: c.y + 120 }, { x: c.x + 20 + i * 12, y: c.y + 120 }]);
    await touches(cdp, 'touchEnd', []);
    expect(await zoom(page)).toBeGreaterThan(before * 1.5);

    // A workflow wider than the phone: Fit stops at a scale where labels stay readable.
    await createWorkflow(page, org, 'Wide one', [0, 1, 2, 3].map((i) => ({ id: `n${i}`, type: i ? 'condition' : 'manual_trigger', label: `Step ${i}`, x: i * 400, y: 40, config: i ? { expression: `amount > ${i}` } : {} })));
    await openEditor(page, 'Wide one');
    await page.getByRole('button', { name: 'Fit to view' }).click();
    expect(await zoom(page)).toBeGreaterThanOrEqual(0.75);
    const label = (await page.locator('[data-node-id="n0"] .node-label').boundingBox())!;
    expect(label.height).toBeGreaterThanOrEqual(9);
    await shoot(page, 'editor-390');
    expect(faults).toEqual([]);
  });

  test('3: the Actions list closes on Escape and on a tap outside, which acts on nothing underneath', async ({ page }) => {
    const faults = watchForFaults(page);
    const org = await loginToOrg(page, 'owner@acme.test');
    await go(page, 'Audit log');
    const summary = page.getByText('Actions: all');
    const list = page.locator('.action-options');
    await summary.click();
    await expect(list).toBeVisible();
    await page.keyboard.press('Escape');
    await expect(list).toBeHidden();
    await expect(page.locator('.action-filter summary')).toBeFocused();

    await summary.click();
    await expect(list).toBeVisible();
    // The list does not cover the form's buttons on a phone.
    const apply = (await page.getByRole('button', { name: 'Apply filters' }).boundingBox())!;
    const listBox = (await list.boundingBox())!;
    expect(apply.y).toBeGreaterThanOrEqual(listBox.y + listBox.height);
    // A tap on the Resource id field, outside the list: the list closes, the field is untouched.
    const field = page.getByLabel('Resource id');
    await field.scrollIntoViewIfNeeded();
    const at = await center(field);
    await page.touchscreen.tap(at.x, at.y);
    await expect(list).toBeHidden();
    await expect(field).not.toBeFocused();
    await expect(page.locator('.action-options input:checked')).toHaveCount(0);
    await expect(page).toHaveURL(`/orgs/${org}/audit`);
    expect(faults).toEqual([]);
  });

  test('7: tables keep what people came for in sight: audit action, resource and IP; Delete; Revoke', async ({ page }) => {
    const faults = watchForFaults(page);
    const org = await loginToOrg(page, 'owner@acme.test');
    const inView = async (l: Locator, what: string) => {
      await expect(l).toBeVisible();
      const b = (await l.boundingBox())!;
      expect(b.x, what).toBeGreaterThanOrEqual(0);
      expect(b.x + b.width, what).toBeLessThanOrEqual(390);
    };
    await go(page, 'Audit log');
    // An event with an address (the sign-in above).
    const first = page.locator('table.audit tbody.event').filter({ hasText: '127.0.0.1' }).first();
    await inView(first.locator('td.action'), 'audit action');
    await inView(first.locator('td.resource'), 'audit resource');
    await inView(first.locator('td.ip'), 'audit IP');
    await expect(page.getByRole('row').nth(1)).toBeVisible();
    await shoot(page, 'audit-390');
    await go(page, 'Workflows');
    await inView(page.getByRole('button', { name: 'Delete Onboarding' }), 'workflow Delete');
    await createKey(page, 'Phone key');
    await page.getByRole('button', { name: 'Done' }).click();
    await inView(page.getByRole('button', { name: 'Revoke Phone key' }), 'key Revoke');
    // The diff card wraps a long value instead of running off the screen.
    const long = 'https://example.com/' + 'a-very-long-path-segment/'.repeat(8);
    const api = await createWorkflow(page, org, 'Long values', [START, { id: 'h', type: 'http_request', label: 'Fetch', x: 40, y: 200, config: { url: 'https://example.com', method: 'GET' } }]);
    const now = await (await page.request.get(api)).json();
    now.nodes[1].data.config.url = long;
    expect((await page.request.put(api, { data: { name: now.name, nodes: now.nodes, edges: now.edges } })).status()).toBe(200);
    await page.goto(`/orgs/${org}`);
    await openEditor(page, 'Long values');
    await page.getByRole('button', { name: 'Version history' }).click();
    const change = page.getByRole('dialog', { name: 'Version history' }).locator('.diff-item').first();
    await expect(change).toContainText('a-very-long-path-segment');
    await inView(change, 'diff card');
    const overflow = await change.evaluate((el) => el.scrollWidth - el.clientWidth);
    expect(overflow).toBeLessThanOrEqual(1);
    await page.keyboard.press('Escape');
    for (const name of ['Audit log', 'Workflows', 'API keys']) {
      await go(page, name);
      const { violations } = await new AxeBuilder({ page }).analyze();
      expect(violations.map((v) => `${v.id}: ${v.help}`), `${name} at 390 px`).toEqual([]);
    }
    expect(faults).toEqual([]);
  });
});

test.describe('on a desktop', () => {
  test.use(DESKTOP);

  test('4, 5: a preview marks what was removed since, draws nothing over it, and the current version offers no restore', async ({ page }) => {
    const faults = watchForFaults(page);
    const org = await loginToOrg(page, 'admin@acme.test');
    const api = await createWorkflow(page, org, 'Preview marks', [START, { id: 'old', type: 'condition', label: 'Old step', x: 300, y: 40, config: { expression: 'amount > 1' } }]);
    const v2 = [START, { id: 'new', type: 'condition', label: 'New step', x: 300, y: 40, config: { expression: 'amount > 2' } }];
    expect((await page.request.put(api, { data: { name: 'Preview marks', nodes: v2.map(node), edges: [] } })).status()).toBe(200);
    await openEditor(page, 'Preview marks');
    await page.getByRole('button', { name: 'Version history' }).click();
    const dialog = page.getByRole('dialog', { name: 'Version history' });
    // The current version is not offered as an earlier one.
    await expect(dialog.getByText('This is the current version')).toBeVisible();
    await expect(dialog.getByRole('button', { name: 'View on canvas' })).toHaveCount(0);
    await dialog.getByRole('button', { name: 'Version 1' }).click();
    await dialog.getByRole('button', { name: 'View on canvas' }).click();
    await expect(page.getByText(/^Viewing version 1/)).toBeVisible();
    await expect(page.getByRole('button', { name: 'Node Old step (removed since)' })).toHaveClass(/removed/);
    await expect(page.locator('[data-node-id="new"]')).toHaveCount(0);
    const help = page.getByRole('complementary', { name: 'Help' });
    await expect(help).toContainText('red nodes were removed since');
    await expect(help).toContainText('Added since (not in this version): New step.');
    const boxes = await page.locator('.canvas .node rect').evaluateAll((rs) => rs.map((r) => r.getBoundingClientRect().toJSON()));
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [boxes[i], boxes[j]];
        const overlap = a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
        expect(overlap, 'no node drawn over another').toBe(false);
      }
    await page.getByRole('button', { name: 'Exit preview' }).click();

    // A run's version link to the current version opens the editor, not a preview.
    await page.getByRole('button', { name: 'Run' }).click();
    await page.getByRole('link', { name: 'View the run' }).click();
    await page.getByRole('link', { name: 'v2', exact: true }).click();
    await expect(page.getByRole('alert')).toContainText('Version 2 is the current version');
    await expect(page.getByRole('button', { name: 'Restore this version' })).toHaveCount(0);
    await expect(page.getByLabel('Workflow name')).toBeEnabled();
    expect(faults).toEqual([]);
  });

  test('6: a member sees one refusal on Engagement, and no Outbox description above its refusal', async ({ page }) => {
    const faults = watchForFaults(page);
    const org = await loginToOrg(page, 'member@acme.test');
    await openEditor(page, 'Onboarding');
    const id = new URL(page.url()).pathname.split('/')[4];
    // A member's editor has no Engagement link: they arrive by a shared link.
    await page.goto(`/orgs/${org}/workflows/${id}/engagement`);
    await expect(page.locator('.error-panel')).toHaveCount(1);
    await expect(page.getByText('Email engagement')).toHaveCount(0);
    await page.goto(`/orgs/${org}/outbox`);
    await expect(page.locator('.error-panel')).toHaveCount(1);
    await expect(page.getByText('Security alerts sent to')).toHaveCount(0);
    expect(faults).toEqual([]);
  });

  test('8: a long node label stays inside its node; its whole text is its name', async ({ page }) => {
    const faults = watchForFaults(page);
    const org = await loginToOrg(page, 'admin@acme.test');
    const long = 'Send the quarterly compliance report to every regional manager';
    await createWorkflow(page, org, 'Long label', [START, { id: 'l', type: 'condition', label: long, x: 300, y: 40, config: { expression: 'amount > 1' } }]);
    await openEditor(page, 'Long label');
    const n = page.getByRole('button', { name: `Node ${long}` });
    await expect(n).toBeVisible();
    const [text, rect] = await Promise.all([n.locator('.node-label').boundingBox(), n.locator('rect').boundingBox()]);
    expect(text!.x + text!.width).toBeLessThanOrEqual(rect!.x + rect!.width - 8);
    await expect(n.locator('.node-label')).toHaveText(/…$/);
    expect(faults).toEqual([]);
  });

  test('9: messages name fields as the form does, in a sentence', async ({ page }) => {
    const faults = watchForFaults(page);
    await loginToOrg(page, 'admin@acme.test');
    await page.getByRole('link', { name: 'Ada Admin' }).click();
    await page.getByLabel('Current password').fill('chronicle-demo');
    await page.getByLabel('New password (at least 10 characters)').fill('a-new-password-1');
    await page.getByLabel('Repeat new password').fill('a-new-password-2');
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(page.getByRole('alert')).toHaveText(/^Confirm password does not match the new password/);
    await page.getByLabel('Current password').fill('not-my-password');
    await page.getByLabel('Repeat new password').fill('a-new-password-1');
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(page.getByRole('alert')).toHaveText(/^Current password is incorrect/);
    await expect(page.getByText(/confirm_password|current_password|: is /)).toHaveCount(0);
    expect(faults).toEqual([]);
  });

  test('10: audit rows name what they are about: the run workflow, the stream, the attempted email; a key once', async ({ page }) => {
    const faults = watchForFaults(page);
    const org = await loginToOrg(page, 'owner@acme.test');
    // A failed sign-in, a run by an API key, and a stream.
    expect((await page.request.post('/api/v1/auth/login', { data: { email: 'owner@acme.test', password: 'wrong-password' } })).status()).toBe(401);
    const key = await page.request.post(`/api/v1/orgs/${org}/api-keys`, { data: { name: 'Runner', scopes: ['workflows:read', 'workflows:execute'] } });
    expect(key.status()).toBe(201);
    const { secret } = await key.json();
    const api = await createWorkflow(page, org, 'Labelled run', [START]);
    expect((await page.request.post(`${api}/executions`, { headers: { Authorization: `Bearer ${secret}` }, data: { payload: {} } })).status()).toBe(202);
    const stream = await page.request.post(`/api/v1/orgs/${org}/audit/streams`, { data: { url: 'http://127.0.0.1:9/labelled', format: 'json' } });
    expect(stream.status()).toBe(201);
    await go(page, 'Audit log');
    const events = page.locator('table.audit tbody.event');
    const run = events.filter({ hasText: 'workflow.executed' }).first();
    await expect(run.locator('td.resource')).toHaveText('workflow “Labelled run”');
    await expect(run.locator('td.actor')).toHaveText(/^Runner \(chr_org_…\w{4}\) API key$/);
    await expect(events.filter({ hasText: 'audit_stream.created' }).first().locator('td.resource')).toHaveText('audit_stream “http://127.0.0.1:9/labelled”');
    await expect(events.filter({ hasText: 'auth.login_failed' }).first().locator('td.resource')).toHaveText('user “owner@acme.test”');
    expect((await page.request.delete(`/api/v1/orgs/${org}/audit/streams/${(await stream.json()).stream.id}`)).status()).toBe(204);
    expect(faults).toEqual([]);
  });

  test('11: small things: a run’s facts on one line, a skip link and focus after the menu, Escape folds a row, equal toolbar type, plurals, a notice for members', async ({ page }) => {
    const faults = watchForFaults(page);
    const org = await loginToOrg(page, 'admin@acme.test');
    // Skip link: the first Tab of a page; Enter moves the focus to the content.
    await page.reload();
    await page.locator('body[data-hydrated]').waitFor();
    await page.keyboard.press('Tab');
    const skip = page.getByRole('link', { name: 'Skip to content' });
    await expect(skip).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(page.locator('main#content')).toBeFocused();
    // After a menu click, the focus is on the new page's content.
    await go(page, 'Audit log');
    await expect(page.locator('main#content')).toBeFocused();
    // Escape folds an expanded audit row and gives the focus back to its toggle.
    const toggle = page.locator('table.audit tbody.event').first().getByRole('button', { name: /^Details of/ });
    await toggle.click();
    await expect(toggle).toHaveAttribute('aria-expanded', 'true');
    await page.keyboard.press('Escape');
    await expect(toggle).toHaveAttribute('aria-expanded', 'false');
    await expect(toggle).toBeFocused();
    // One checkpoint, not "1 checkpoints".
    await page.getByText('Integrity').click();
    await page.getByRole('button', { name: 'Verify now' }).click();
    await expect(page.getByText(/^Verified: /)).toBeVisible();
    const verified = await page.getByText(/^Verified: /).textContent();
    const [, events, eventWord, checkpoints, checkpointWord] = /^Verified: (\d+) (events?) and (\d+) (checkpoints?), all intact\.$/.exec(verified!)!;
    expect(eventWord).toBe(events === '1' ? 'event' : 'events');
    expect(checkpointWord).toBe(checkpoints === '1' ? 'checkpoint' : 'checkpoints');
    // The Engagement link is the size of the buttons beside it.
    await createWorkflow(page, org, 'Small things', [START]);
    await openEditor(page, 'Small things');
    const size = (l: Locator) => l.evaluate((el) => `${getComputedStyle(el).fontSize} ${el.getBoundingClientRect().height}`);
    expect(await size(page.getByRole('link', { name: 'Engagement' }))).toBe(await size(page.getByRole('button', { name: 'Version history' })));
    // A run's facts: each label beside its value, on one line.
    await page.getByRole('button', { name: 'Run' }).click();
    await page.getByRole('link', { name: 'View the run' }).click();
    const finished = page.locator('.facts dt', { hasText: 'Finished' });
    const when = page.locator('.facts dt:has-text("Finished") + dd');
    await expect(when).toHaveText('just now');
    const [a, b] = [(await finished.boundingBox())!, (await when.boundingBox())!];
    expect(Math.abs(a.y - b.y)).toBeLessThan(4);
    expect(b.height).toBeLessThan(30);
    // A member who opens a version link gets the live editor and a notice saying so.
    const version = new URL(await page.getByRole('link', { name: /^v\d+$/ }).getAttribute('href') ?? '', 'http://x').pathname + '?preview=1';
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login/);
    await page.goto(`/login?next=${encodeURIComponent(version)}`);
    await page.locator('body[data-hydrated]').waitFor();
    await page.getByLabel('Email').fill('member@acme.test');
    await page.getByLabel('Password').fill('chronicle-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toContainText('Earlier versions are shown to owners and admins only');
    await expect(page.getByText(/^Viewing version/)).toHaveCount(0);
    expect(faults).toEqual([]);
  });

  test('12: a version is named in the history overlay, shown in the timeline and found by its name', async ({ page }) => {
    const faults = watchForFaults(page);
    const org = await loginToOrg(page, 'admin@acme.test');
    const api = await createWorkflow(page, org, 'Version names', [START]);
    for (const seconds of [1, 2, 3]) {
      const nodes = [START, { id: 'd', type: 'condition', label: 'Check', x: 300, y: 40, config: { expression: `amount > ${seconds}` } }].map(node);
      expect((await page.request.put(api, { data: { name: 'Version names', nodes, edges: [] } })).status()).toBe(200);
    }
    await openEditor(page, 'Version names');
    await page.getByRole('button', { name: 'Version history' }).click();
    const dialog = page.getByRole('dialog', { name: 'Version history' });
    await dialog.getByRole('button', { name: 'Version 2' }).click();
    await dialog.getByLabel('Version name').fill('Before the launch');
    await dialog.getByRole('button', { name: 'Save name' }).click();
    await expect(dialog.getByRole('status')).toHaveText('Name saved.');
    await expect(dialog.getByRole('button', { name: 'Version 2' })).toContainText('Before the launch');
    // Found by a word of its name, in any case; the others are not listed.
    const search = dialog.getByLabel('Find a named version');
    await search.fill('LAUNCH');
    await search.press('Enter');
    await expect(dialog.getByRole('button', { name: /^Version \d+$/ })).toHaveCount(1);
    await expect(dialog.getByRole('button', { name: 'Version 2' })).toBeVisible();
    await search.fill('');
    await search.press('Enter');
    await expect(dialog.getByRole('button', { name: /^Version \d+$/ })).toHaveCount(4);
    // The API sees the name, and the trail records it.
    const history = await (await page.request.get(`${api}/history`)).json();
    expect(history.versions.find((v: any) => v.version === 2).label).toBe('Before the launch');
    const trail = await (await page.request.get(`/api/v1/orgs/${org}/audit?action=workflow.version_named`)).json();
    expect(trail.events[0].metadata.label).toBe('Before the launch');
    expect(faults).toEqual([]);
  });
});
