import { test, expect, Page } from '@playwright/test';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { E2E_PORT, login, loginToOrg, watchForFaults } from './helpers';

/** The mails the suite's SMTP sink (global-setup.ts) has received so far. */
function mails(): string[] {
  const dir = process.env.E2E_MAIL_DIR!;
  return fs.readdirSync(dir).sort().map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
}

/** The invitation link mailed to `to` (quoted-printable undone), once it has arrived. */
async function invitationLink(to: string): Promise<string> {
  let link = '';
  await expect(async () => {
    const mail = mails().find((m) => m.includes(`To: ${to}`));
    expect(mail, `a mail to ${to}`).toBeTruthy();
    const text = mail!.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    link = text.match(/https?:\/\/\S+\/invite\/[0-9a-f]{64}/)![0];
  }).toPass({ timeout: 15_000 });
  return link;
}

/** RFC 6238 (SHA-1, 6 digits, 30 s) written here from the RFC, apart from the server's crate. */
function totp(base32: string, atMs = Date.now()): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bits = [...base32.replace(/=+$/, '')].map((c) => alphabet.indexOf(c).toString(2).padStart(5, '0')).join('');
  const key = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(atMs / 30_000)));
  const mac = crypto.createHmac('sha1', key).update(counter).digest();
  const at = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/** Owner invites `email` from the Members page, reached by the menu. */
async function inviteFromMembersPage(page: Page, email: string) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Members', exact: true }).click();
  const invitations = page.getByRole('region', { name: 'Invitations' });
  await invitations.getByRole('button', { name: 'Invite' }).click();
  await invitations.getByLabel('Email').fill(email);
  await invitations.getByLabel('Role').selectOption('member');
  await invitations.getByRole('button', { name: 'Send invitation' }).click();
  await expect(invitations.getByRole('status')).toContainText(`Invitation sent to ${email}`);
  await expect(invitations.getByRole('row', { name: new RegExp(email) })).toBeVisible();
}

/** Opens the mailed link in a browser with no session and creates the account. */
async function joinByLink(page: Page, link: string, name: string, password: string) {
  await page.goto(link);
  await page.locator('body[data-hydrated]').waitFor();
  await expect(page.getByText(/invited you to join Acme as a member/)).toBeVisible();
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel(/^Password/).fill(password);
  await page.getByRole('button', { name: 'Create account and join' }).click();
  await expect(page).toHaveURL(/\/orgs\/[^/]+$/);
  await expect(page.getByRole('heading', { name: 'Acme' })).toBeVisible();
}

test('an owner invites someone, who opens the mailed link, creates their account and lands in the org', async ({ page, browser }) => {
  const faults = watchForFaults(page);
  await loginToOrg(page, 'owner@acme.test');
  await inviteFromMembersPage(page, 'e2e-newcomer@acme.test');
  const link = await invitationLink('e2e-newcomer@acme.test');

  const invitee = await browser.newContext();
  const theirs = await invitee.newPage();
  const theirFaults = watchForFaults(theirs);
  await joinByLink(theirs, link, 'Nora Newcomer', 'a-long-new-password');
  await expect(theirs.getByText('Nora Newcomer')).toBeVisible();
  await expect(theirs.getByText('You are member in this organisation.')).toBeVisible();
  // The link worked once.
  await theirs.goto(link);
  await expect(theirs.getByRole('alert')).toContainText('not valid any more');
  await invitee.close();

  // The owner sees the newcomer among the members, and no invitation waiting.
  await page.reload();
  await expect(page.getByRole('cell', { name: 'e2e-newcomer@acme.test' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Invitations' }).getByText('No invitations waiting for an answer.')).toBeVisible();
  expect(faults).toEqual([]);
  expect(theirFaults).toEqual([]);
});

test('a user turns on two-step sign-in from the Account page and signs in with password then code', async ({ page, browser }) => {
  const faults = watchForFaults(page);
  // A person of their own: the demo accounts sign in with a password alone in other tests.
  await loginToOrg(page, 'owner@acme.test');
  await inviteFromMembersPage(page, 'e2e-totp@acme.test');
  const link = await invitationLink('e2e-totp@acme.test');
  const context = await browser.newContext();
  const user = await context.newPage();
  const userFaults = watchForFaults(user);
  await joinByLink(user, link, 'Tess Totp', 'a-long-totp-password');

  // Account page, by the link with their name.
  await user.getByRole('link', { name: 'Tess Totp' }).click();
  const section = user.getByRole('region', { name: 'Two-step sign-in' });
  await section.getByRole('button', { name: 'Set up two-step sign-in' }).click();
  await section.getByLabel('Your password').fill('a-long-totp-password');
  await section.getByRole('button', { name: 'Continue' }).click();
  await expect(section.getByRole('img', { name: /QR code/ }).locator('svg')).toBeVisible();
  const secret = (await section.getByTestId('totp-secret').textContent())!.trim();
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  await section.getByLabel('Code', { exact: true }).fill(totp(secret));
  await section.getByRole('button', { name: 'Turn on' }).click();
  await expect(section.getByRole('status')).toHaveText('Two-step sign-in is on.');
  await expect(section.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem')).toHaveCount(10);

  // Out, and back in: the password, then the code (the next one: the one shown is spent).
  await user.getByRole('button', { name: 'Log out' }).click();
  await expect(user).toHaveURL(/\/login$/);
  await login(user, 'e2e-totp@acme.test', 'a-long-totp-password');
  const code = user.getByLabel('Code from your authenticator app');
  await expect(code).toBeVisible();
  const accepted = [-30_000, 0, 30_000].map((skew) => totp(secret, Date.now() + skew));
  await code.fill(['000000', '111111', '222222'].find((c) => !accepted.includes(c))!);
  await user.getByRole('button', { name: 'Sign in' }).click();
  await expect(user.getByRole('alert')).toContainText('not right');
  await code.fill(totp(secret, Date.now() + 30_000));
  await user.getByRole('button', { name: 'Sign in' }).click();
  await expect(user).toHaveURL(/\/orgs\/[^/]+$/);
  await expect(user.getByText('Tess Totp')).toBeVisible();
  await context.close();
  expect(faults).toEqual([]);
  expect(userFaults).toEqual([]);
});

test('a passkey is registered on the Account page and signs in with no password (a virtual authenticator)', async ({ page, browser }) => {
  const faults = watchForFaults(page);
  await loginToOrg(page, 'owner@acme.test');
  await inviteFromMembersPage(page, 'e2e-passkey@acme.test');
  const link = await invitationLink('e2e-passkey@acme.test');

  // WebAuthn refuses IP addresses: this person reaches Chronicle as localhost, its public URL.
  const context = await browser.newContext({ baseURL: `http://localhost:${E2E_PORT}` });
  const user = await context.newPage();
  const userFaults = watchForFaults(user);
  const cdp = await context.newCDPSession(user);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  expect(new URL(link).host).toBe(`localhost:${E2E_PORT}`);
  await joinByLink(user, link, 'Pat Passkey', 'a-long-passkey-password');

  await user.getByRole('link', { name: 'Pat Passkey' }).click();
  const section = user.getByRole('region', { name: 'Passkeys' });
  await expect(section.getByText('No passkeys yet.')).toBeVisible();
  await section.getByLabel('Name').fill('E2E laptop');
  await section.getByRole('button', { name: 'Add a passkey' }).click();
  await expect(section.getByRole('status')).toHaveText('Passkey “E2E laptop” added: use it on the sign-in page.');
  await expect(section.getByRole('row', { name: /E2E laptop/ })).toBeVisible();
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  expect(credentials).toHaveLength(1);
  expect(credentials[0].isResidentCredential).toBe(true);

  // Out, and back in with the passkey alone.
  await user.getByRole('button', { name: 'Log out' }).click();
  await expect(user).toHaveURL(/\/login$/);
  await user.locator('body[data-hydrated]').waitFor();
  await user.getByRole('button', { name: 'Use a passkey' }).click();
  await expect(user).toHaveURL(/\/orgs\/[^/]+$/);
  await expect(user.getByText('Pat Passkey')).toBeVisible();
  // The passkey shows its use.
  await user.getByRole('link', { name: 'Pat Passkey' }).click();
  await expect(user.getByRole('region', { name: 'Passkeys' }).getByRole('row', { name: /E2E laptop/ })).not.toContainText('Never');
  await context.close();
  expect(faults).toEqual([]);
  expect(userFaults).toEqual([]);
});
