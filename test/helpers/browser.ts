import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

export const chromiumAvailable = (): boolean => existsSync(CHROMIUM);

/**
 * Signs in as `email` in headless Chromium (Debian's, driven by playwright-core) starting from an
 * authorization URL, and waits until the browser lands on the client's loopback redirect page.
 */
export async function loginInBrowser(url: string, email: string): Promise<string> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = await browser.newPage();
    const issuer = new URL(url).origin;
    await page.goto(url);
    await page.fill('input[name=email]', email);
    await page.fill('input[name=password]', 'dev');
    await Promise.all([
      page.waitForURL((u) => u.origin !== issuer, { waitUntil: 'load' }),
      page.click('button[type=submit]'),
    ]);
    return (await page.textContent('body')) ?? '';
  } finally {
    await browser.close();
  }
}
