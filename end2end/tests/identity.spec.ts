import { test, expect } from '@playwright/test';
import { DEMO_PASSWORD, login, loginToOrg, watchForFaults } from './helpers';

test('an owner signs in and sees the shell', async ({ page }) => {
  const org = await loginToOrg(page, 'owner@acme.test');
  await expect(page.getByRole('heading', { name: 'Acme' })).toBeVisible();
  await expect(page.getByText('Olive Owner')).toBeVisible();
  await expect(page.getByLabel('Organisation')).toHaveValue(org);
  await expect(page.getByRole('link', { name: 'Members', exact: true })).toBeVisible();
  await expect(page.getByText('You are owner in this organisation.')).toBeVisible();
  await expect(page.getByRole('main').getByRole('link', { name: 'Manage members' })).toBeVisible();
});

test('a wrong password shows the error and keeps the user on the login page', async ({ page }) => {
  await login(page, 'owner@acme.test', 'not-the-password');
  await expect(page.getByRole('alert')).toHaveText('Email or password is incorrect.');
  await expect(page).toHaveURL(/\/login$/);
  // An unknown email reads exactly the same.
  await page.getByLabel('Email').fill('nobody@acme.test');
  await page.getByLabel('Password').fill('chronicle-demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Email or password is incorrect.');
});

test('a member cannot reach an admin-only page', async ({ page }) => {
  const org = await loginToOrg(page, 'member@acme.test');
  await expect(page.getByText('Max Member')).toBeVisible();
  await expect(page.getByRole('link', { name: 'Members', exact: true })).toHaveCount(0);
  await expect(page.getByText('You are member in this organisation.')).toBeVisible();
  await expect(page.getByRole('link', { name: 'Manage members' })).toHaveCount(0);
  await page.goto(`/orgs/${org}/members`);
  await expect(page.getByRole('heading', { name: "You don't have access to this page" })).toBeVisible();
  await expect(page.getByText('This needs the admin role in this organisation.')).toBeVisible();
  const api = await page.request.get(`/api/v1/orgs/${org}/members`);
  expect(api.status()).toBe(403);
});

test('another org is not found, not forbidden', async ({ page }) => {
  const globex = await loginToOrg(page, 'owner@globex.test');
  await page.context().clearCookies();
  await loginToOrg(page, 'admin@acme.test');
  const api = await page.request.get(`/api/v1/orgs/${globex}/members`);
  expect(api.status()).toBe(404);
  await page.goto(`/orgs/${globex}/members`);
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
  // Another org's keys page shows no form to fill in either.
  await page.goto(`/orgs/${globex}/api-keys`);
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Create key' })).toHaveCount(0);
});

test('an owner changes a role on the members page: asked first, told after, and a refusal puts the old role back', async ({ page }) => {
  const faults = watchForFaults(page);
  const org = await loginToOrg(page, 'owner@acme.test');
  await page.getByRole('link', { name: 'Members', exact: true }).click();
  await expect(page).toHaveURL(`/orgs/${org}/members`);
  // Cancelled at the question: nothing changes.
  page.once('dialog', (d) => d.dismiss());
  await page.getByLabel('Role of Max Member').selectOption('admin');
  await expect(page.getByLabel('Role of Max Member')).toHaveValue('member');
  // Confirmed: changed and said so.
  page.once('dialog', (d) => {
    expect(d.message()).toBe("Change Max Member's role from member to admin?");
    d.accept();
  });
  await page.getByLabel('Role of Max Member').selectOption('admin');
  await expect(page.getByRole('status').filter({ hasText: 'Role changed.' })).toBeVisible();
  await page.reload();
  await expect(page.getByLabel('Role of Max Member')).toHaveValue('admin');
  page.once('dialog', (d) => d.accept());
  await page.getByLabel('Role of Max Member').selectOption('member');
  await expect(page.getByRole('status').filter({ hasText: 'Role changed.' })).toBeVisible();
  await expect(page.getByLabel('Role of Max Member')).toHaveValue('member');
  // The last owner cannot step down: the server says why, and the dropdown shows owner again.
  page.once('dialog', (d) => d.accept());
  await page.getByLabel('Role of Olive Owner').selectOption('admin');
  await expect(page.getByRole('alert')).toContainText('The last owner cannot be demoted');
  await expect(page.getByLabel('Role of Olive Owner')).toHaveValue('owner');
  await expect(page.getByText('Role changed.')).toHaveCount(0);
  expect(faults).toEqual([]);
});

test('logout ends the session', async ({ page }) => {
  await loginToOrg(page, 'admin@acme.test');
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
  const api = await page.request.get('/api/v1/me');
  expect(api.status()).toBe(401);
});

test('a signed-out user is sent to the sign-in form and brought back to the page they asked for', async ({ page }) => {
  const faults = watchForFaults(page);
  const org = await loginToOrg(page, 'owner@acme.test');
  await expect(page.getByRole('link', { name: 'Members', exact: true })).toBeVisible();

  // The session ends while the app is open (signed out elsewhere); the next click finds out.
  await page.context().clearCookies();
  await page.getByRole('link', { name: 'Members', exact: true }).click();
  await expect(page).toHaveURL(`/login?next=${encodeURIComponent(`/orgs/${org}/members`)}`);
  await expect(page.getByRole('heading', { name: 'Chronicle' })).toBeVisible();
  await page.locator('body[data-hydrated]').waitFor();
  await page.getByLabel('Email').fill('owner@acme.test');
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`/orgs/${org}/members`);
  await expect(page.getByRole('heading', { name: 'Members' })).toBeVisible();

  // A page loaded signed out goes the same way, query included; a foreign `next` is ignored.
  await page.context().clearCookies();
  await page.goto(`/orgs/${org}/audit?action=auth.login`);
  await expect(page).toHaveURL(`/login?next=${encodeURIComponent(`/orgs/${org}/audit?action=auth.login`)}`);
  await page.goto('/login?next=//evil.test/x');
  await page.locator('body[data-hydrated]').waitFor();
  await page.getByLabel('Email').fill('owner@acme.test');
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`/orgs/${org}`);
  expect(faults).toEqual([]);
});
