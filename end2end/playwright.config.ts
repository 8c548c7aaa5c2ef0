import { defineConfig } from '@playwright/test';
import * as os from 'os';
import * as path from 'path';
import * as fs from 'fs';
import { E2E_PORT as port, SMTP_PORT as smtpPort } from './tests/helpers';

// The suite runs against the release build, started fresh with the demo data in a
// throwaway data directory, on a port of its own.
const root = path.resolve(__dirname, '..');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chronicle-e2e-'));
// Where the suite's SMTP sink (global-setup.ts) writes each mail; workers inherit the variable.
process.env.E2E_MAIL_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), 'chronicle-e2e-mail-'));

export default defineConfig({
  testDir: './tests',
  globalSetup: './global-setup.ts',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    command: `${root}/target/release/server --demo`,
    cwd: root,
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    env: {
      CHRONICLE_DATA_DIR: dataDir,
      DATABASE_URL: process.env.E2E_DATABASE_URL ?? '',
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: path.join(root, 'target/site'),
      RUST_LOG: 'warn',
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      // Links in mail, and the passkeys' relying party (WebAuthn refuses IP addresses).
      CHRONICLE_PUBLIC_URL: `http://localhost:${port}`,
      // Audit streams in the suite post to a receiver on loopback.
      CHRONICLE_EGRESS_ALLOW_PRIVATE: '1',
    },
  },
});
