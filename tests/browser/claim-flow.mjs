// Claims one badge in headless Chromium as a young person would, then opens its public page.
//
// The Rust test `tests/tests/browser.rs` runs this script once per award. It reads:
//   ACCOLADE_NODE_TOOLS         folder whose node_modules contains playwright-core and axe-core
//   ACCOLADE_CHROMIUM           Chromium executable (default /usr/bin/chromium)
//   ACCOLADE_BASE_URL           the local stack, such as http://127.0.0.1:41234
//   ACCOLADE_CLAIM_URL          the claim link from the email
//   ACCOLADE_ACHIEVEMENT_NAME   expected badge name
//   ACCOLADE_ISSUER_NAME        expected issuer name
//   ACCOLADE_DISPLAY_NAME       name typed into the form
//   ACCOLADE_SHOW_NAME          "yes" ticks "Show my name", "no" leaves it unticked
//   ACCOLADE_IDENTITY_EMAIL     the young person's own address, typed when the email went to a
//                               guardian; empty when the page must not ask for it
//   ACCOLADE_SCREENSHOT_DIR     folder for the full-page screenshots
//   ACCOLADE_CASE               short name of this run, used in screenshot names
//
// It exits 0 when every check passes and 1 with the reason otherwise. Every check fails,
// never skips, when a tool is missing.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const SETUP_HINT = 'run `bash infra/scripts/setup-test-tools.sh` from the repository root';

// A phone as young people hold it, and a laptop screen.
const VIEWPORTS = [
  { label: 'phone-390', options: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true } },
  { label: 'desktop-1280', options: { viewport: { width: 1280, height: 800 } } },
];

// Chromium makes no network use of its own with these flags. Playwright adds `--headless` and
// a fresh temporary `--user-data-dir` for every launch, and deletes that profile on close.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// The images are baked after the claim, so their links can return 404 for a moment.
const IMAGE_WAIT_MS = 15_000;

// axe-core 4.14 passed 28 to 40 rules on these pages when this was written. Far fewer means
// it did not see the page.
const MIN_AXE_PASSES = 15;

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`the environment variable ${name} is missing; the Rust test tests/tests/browser.rs sets it`);
  }
  return value;
}

function loadTools() {
  const toolsDir = requiredEnv('ACCOLADE_NODE_TOOLS');
  for (const module of ['playwright-core', 'axe-core']) {
    if (!existsSync(join(toolsDir, 'node_modules', module))) {
      throw new Error(`${module} is not installed in ${toolsDir}/node_modules; ${SETUP_HINT}`);
    }
  }
  const chromiumPath = process.env.ACCOLADE_CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium is not installed at ${chromiumPath}; ${SETUP_HINT}`);
  }
  const require = createRequire(join(toolsDir, 'package.json'));
  return {
    chromium: require('playwright-core').chromium,
    chromiumPath,
    axeSource: readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'),
  };
}

const settings = {
  baseUrl: requiredEnv('ACCOLADE_BASE_URL'),
  claimUrl: requiredEnv('ACCOLADE_CLAIM_URL'),
  achievementName: requiredEnv('ACCOLADE_ACHIEVEMENT_NAME'),
  issuerName: requiredEnv('ACCOLADE_ISSUER_NAME'),
  displayName: requiredEnv('ACCOLADE_DISPLAY_NAME'),
  showName: requiredEnv('ACCOLADE_SHOW_NAME') === 'yes',
  identityEmail: process.env.ACCOLADE_IDENTITY_EMAIL || '',
  screenshotDir: requiredEnv('ACCOLADE_SCREENSHOT_DIR'),
  caseName: requiredEnv('ACCOLADE_CASE'),
};
const ourOrigin = new URL(settings.baseUrl).origin;
assert.match(ourOrigin, /^http:\/\/127\.0\.0\.1:\d+$/, 'the browser may only load pages from the local stack');
assert.equal(new URL(settings.claimUrl).origin, ourOrigin, 'the claim link points at the local stack');

function log(message) {
  console.log(`[${settings.caseName}] ${message}`);
}

// Every request and browser-side problem seen in any page, checked at the end.
const observed = { requests: [], foreign: [], consoleErrors: [], pageErrors: [] };

async function newContext(browser, viewport) {
  const context = await browser.newContext({ ...viewport.options, acceptDownloads: true });
  context.on('request', (request) => observed.requests.push(`${request.method()} ${request.url()}`));
  // The pages must never reach another origin. Aborting such requests keeps the test from
  // sending anything off this machine, and recording them fails the test below.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin === ourOrigin) {
      return route.continue();
    }
    observed.foreign.push(url);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  // A blocked resource or a CSP violation shows up as a console error.
  page.on('console', (message) => {
    if (message.type() === 'error') {
      observed.consoleErrors.push(`${viewport.label} ${page.url()}: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => observed.pageErrors.push(`${viewport.label} ${page.url()}: ${error.message}`));
  return { label: viewport.label, context, page };
}

// Runs axe-core on the page and fails on serious or critical violations. Milder ones are
// printed so they can be judged.
async function checkAccessibility(page, what, axeSource) {
  // The pages forbid every script through their Content-Security-Policy, so a <script> tag
  // from page.addScriptTag would be blocked, and Playwright offers no per-page CSP bypass.
  // page.evaluate runs through the DevTools protocol, which that policy does not govern, so
  // the page keeps its real policy for the whole run.
  const alreadyLoaded = await page.evaluate(() => typeof globalThis.axe !== 'undefined');
  if (!alreadyLoaded) {
    await page.evaluate(axeSource);
  }

  const results = await page.evaluate(() =>
    globalThis.axe.run(document, { resultTypes: ['violations'] }),
  );
  const describe = (violation) =>
    `  ${violation.impact} ${violation.id}: ${violation.help}\n` +
    violation.nodes
      .map((node) => `    at ${node.target.join(' ')}: ${node.failureSummary.replace(/\n/g, ' ')}`)
      .join('\n');

  const blocking = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const other = results.violations.filter((v) => !blocking.includes(v));
  if (other.length > 0) {
    log(`axe on ${what}: ${other.length} moderate or minor finding(s):\n${other.map(describe).join('\n')}`);
  }
  assert.equal(
    blocking.length,
    0,
    `axe found serious or critical violations on ${what}:\n${blocking.map(describe).join('\n')}`,
  );
  // An empty or unloaded document passes with no violations, so also require that axe
  // actually checked the page.
  assert.ok(results.passes.length >= MIN_AXE_PASSES, `axe passed only ${results.passes.length} rules on ${what}`);
  log(`axe on ${what}: ${results.passes.length} rules passed, no serious or critical violations`);
}

// Checks the headers that keep the claim token out of referrers and search engines.
function checkPrivateHeaders(response, what) {
  const headers = response.headers();
  assert.equal(headers['referrer-policy'], 'no-referrer', `Referrer-Policy of ${what}`);
  assert.match(headers['x-robots-tag'] ?? '', /noindex/, `X-Robots-Tag of ${what}`);
  assert.match(headers['content-security-policy'] ?? '', /default-src 'none'/, `Content-Security-Policy of ${what}`);
}

async function robotsMeta(page) {
  return page.evaluate(() => document.querySelector('meta[name="robots"]')?.getAttribute('content') ?? null);
}

// Lists the requests that left our origin: those the route handler aborted, and those the
// browser announced but blocked before routing, such as a CSP violation.
function offOriginRequests() {
  const announced = observed.requests.filter((request) => new URL(request.split(' ')[1]).origin !== ourOrigin);
  return [...observed.foreign, ...announced];
}

// Fails when the page reached for another origin or any of its images did not load.
async function checkPageLoaded(page, what) {
  await page.waitForFunction(() => [...document.images].every((image) => image.complete), null, {
    timeout: 10_000,
  });
  assert.deepEqual(offOriginRequests(), [], `requests to another origin than the local stack, up to ${what}`);
  const images = await page.evaluate(() =>
    [...document.images].map((image) => ({ src: image.currentSrc, width: image.naturalWidth })),
  );
  for (const image of images) {
    assert.ok(image.width > 0, `the image ${image.src} on ${what} did not load`);
  }
  return images;
}

async function screenshot(view, step) {
  const path = join(settings.screenshotDir, `${settings.caseName}-${step}-${view.label}.png`);
  await view.page.screenshot({ path, fullPage: true });
  log(`screenshot ${path}`);
}

async function mainText(page) {
  return page.locator('main').innerText();
}

// Waits until a claimed image has been baked, then downloads it through its link as a person
// would, and checks the file type.
async function downloadImage(page, linkName, signature) {
  const link = page.getByRole('link', { name: linkName });
  const href = new URL(await link.getAttribute('href'), settings.claimUrl);
  assert.equal(href.origin, ourOrigin, `${linkName} links to our site`);

  const deadline = Date.now() + IMAGE_WAIT_MS;
  let status = 0;
  while (Date.now() < deadline) {
    status = (await page.request.get(href.href)).status();
    if (status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.equal(status, 200, `${href} was not ready within ${IMAGE_WAIT_MS} ms`);

  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const bytes = readFileSync(await download.path());
  assert.ok(bytes.subarray(0, signature.length).equals(signature), `${linkName} gives a file of the right type`);
  log(`downloaded ${download.suggestedFilename()} (${bytes.length} bytes) from ${href.pathname}`);
  return href;
}

// Submits the guardian form with the young person's address left empty, as a hurried parent
// might, and checks that the page explains what is missing and keeps what was typed.
async function submitWithoutIdentity(view, axeSource) {
  const page = view.page;
  const what = `the claim form with an error (${view.label})`;
  const consoleErrorsBefore = observed.consoleErrors.length;
  const [post] = await Promise.all([
    page.waitForResponse((response) => response.request().method() === 'POST'),
    page.getByRole('button', { name: 'Claim this badge' }).click(),
  ]);
  await page.waitForLoadState('load');
  assert.equal(post.status(), 422, `status of ${what}`);

  // Chromium logs each document that returns an error status as a console error, and this
  // one is the point of the step.
  const expectedError = /the server responded with a status of 422/;
  observed.consoleErrors = [
    ...observed.consoleErrors.slice(0, consoleErrorsBefore),
    ...observed.consoleErrors.slice(consoleErrorsBefore).filter((message) => !expectedError.test(message)),
  ];

  checkPrivateHeaders(post, what);
  const summary = await page.getByRole('alert').innerText();
  assert.match(summary, /own email address/, `${what} says which field to correct`);
  const identity = page.getByLabel("The young person's own email address");
  assert.equal(await identity.getAttribute('aria-invalid'), 'true', `${what} marks the field as invalid`);
  assert.equal(
    await page.getByLabel('Your name on the badge page').inputValue(),
    settings.displayName,
    `${what} keeps the typed name`,
  );
  assert.equal(
    await page.getByRole('checkbox', { name: 'Show my name on the public badge page' }).isChecked(),
    settings.showName,
    `${what} keeps the "Show my name" choice`,
  );

  // The error summary links to the field, so a keyboard or screen reader user can jump to it.
  const target = await page.getByRole('alert').getByRole('link').first().getAttribute('href');
  assert.equal(target, `#${await identity.getAttribute('id')}`, `${what} links the summary to the field`);
  await checkPageLoaded(page, what);
  await checkAccessibility(page, what, axeSource);
  await screenshot(view, '1b-form-error');
  log('an empty address is reported');
}

async function main() {
  const tools = loadTools();
  mkdirSync(settings.screenshotDir, { recursive: true });
  const browser = await tools.chromium.launch({
    executablePath: tools.chromiumPath,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
  try {
    const [phone, desktop] = [await newContext(browser, VIEWPORTS[0]), await newContext(browser, VIEWPORTS[1])];
    for (const view of [phone, desktop]) {
      view.page.setDefaultTimeout(15_000);
    }

    // 1. The claim form, at both widths.
    for (const view of [phone, desktop]) {
      const what = `the claim form (${view.label})`;
      const response = await view.page.goto(settings.claimUrl);
      assert.equal(response.status(), 200, `status of ${what}`);
      checkPrivateHeaders(response, what);
      assert.equal(await robotsMeta(view.page), 'noindex', `robots meta of ${what}`);
      const heading = await view.page.getByRole('heading', { level: 1 }).innerText();
      assert.ok(heading.includes(settings.achievementName), `${what} has the heading "${heading}"`);
      assert.ok((await mainText(view.page)).includes(settings.issuerName), `${what} names the issuer`);
      await checkPageLoaded(view.page, what);
      await checkAccessibility(view.page, what, tools.axeSource);
      await screenshot(view, '1-claim-form');
    }

    // 2. Fill in the form on the phone and claim.
    const page = phone.page;
    await page.getByLabel('Your name on the badge page').fill(settings.displayName);
    const showName = page.getByRole('checkbox', { name: 'Show my name on the public badge page' });
    if (settings.showName) {
      await showName.check();
    } else {
      assert.equal(await showName.isChecked(), false, '"Show my name" starts unticked');
    }
    const identity = page.getByLabel("The young person's own email address");
    if (settings.identityEmail) {
      await submitWithoutIdentity(phone, tools.axeSource);
      await identity.fill(settings.identityEmail);
    } else {
      assert.equal(await identity.count(), 0, 'the page asks for no other address when the email went to the young person');
    }
    const [post] = await Promise.all([
      page.waitForResponse((response) => response.request().method() === 'POST'),
      page.getByRole('button', { name: 'Claim this badge' }).click(),
    ]);
    assert.equal(post.status(), 303, 'claiming redirects to the claimed page');
    await page.waitForLoadState('load');
    assert.equal(page.url(), settings.claimUrl, 'the claimed page is the claim link');
    const notice = await page.getByRole('status').innerText();
    assert.match(notice, /It is yours/, 'the claimed page confirms the claim');
    log('claimed');

    // The claimed page links the public badge page and both images.
    const publicLink = page.getByRole('link', { name: 'Public badge page' });
    const publicUrl = new URL(await publicLink.getAttribute('href'), settings.claimUrl);
    assert.equal(publicUrl.origin, ourOrigin, 'the public badge page is on our site');
    assert.match(publicUrl.pathname, /^\/assertions\/[0-9a-f-]{36}$/, 'the public badge page address');
    const png = await downloadImage(page, 'Download the badge image (PNG)', Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    const svg = await downloadImage(page, 'Download the badge image (SVG)', Buffer.from('<'));
    assert.equal(png.pathname, `${publicUrl.pathname}/image.png`);
    assert.equal(svg.pathname, `${publicUrl.pathname}/image.svg`);

    for (const view of [phone, desktop]) {
      const what = `the claimed page (${view.label})`;
      if (view !== phone) {
        const response = await view.page.goto(settings.claimUrl);
        assert.equal(response.status(), 200, `status of ${what}`);
        checkPrivateHeaders(response, what);
        assert.match(await view.page.getByRole('status').innerText(), /It is yours/, `${what} shows the claim`);
      }
      assert.equal(await robotsMeta(view.page), 'noindex', `robots meta of ${what}`);
      await checkPageLoaded(view.page, what);
      await checkAccessibility(view.page, what, tools.axeSource);
      await screenshot(view, '2-claimed');
    }

    // 3. Follow the link to the public badge page.
    for (const view of [phone, desktop]) {
      const what = `the public badge page (${view.label})`;
      const link = view.page.getByRole('link', { name: 'Public badge page' });
      const [response] = await Promise.all([
        view.page.waitForResponse((candidate) => candidate.url() === publicUrl.href),
        link.click(),
      ]);
      await view.page.waitForLoadState('load');
      assert.equal(view.page.url(), publicUrl.href, `the link leads to ${what}`);
      assert.equal(response.status(), 200, `status of ${what}`);
      assert.match(response.headers()['content-type'] ?? '', /^text\/html/, `a browser gets HTML for ${what}`);
      assert.equal(response.headers()['referrer-policy'], 'no-referrer', `Referrer-Policy of ${what}`);

      const heading = await view.page.getByRole('heading', { level: 1 }).innerText();
      assert.ok(heading.includes(settings.achievementName), `${what} has the heading "${heading}"`);
      const text = await mainText(view.page);
      assert.ok(text.includes(settings.issuerName), `${what} names the issuer`);
      const badge = view.page.locator('img.badge');
      assert.equal(await badge.count(), 1, `${what} shows the badge image`);
      const images = await checkPageLoaded(view.page, what);
      assert.ok(images.length > 0, `${what} has images`);

      if (settings.showName) {
        assert.ok(text.includes(`Awarded to ${settings.displayName}`), `${what} shows the name the recipient chose to show`);
        assert.equal(await robotsMeta(view.page), null, `${what} may be indexed once the name is shown`);
      } else {
        assert.ok(!text.includes(settings.displayName), `${what} hides the name the recipient chose not to show`);
        assert.equal(await robotsMeta(view.page), 'noindex', `${what} stays out of search engines without a name`);
        assert.match(response.headers()['x-robots-tag'] ?? '', /noindex/, `X-Robots-Tag of ${what}`);
      }
      await checkAccessibility(view.page, what, tools.axeSource);
      await screenshot(view, '3-badge-page');
    }

    // 4. Nothing left this machine, and the pages caused no browser errors.
    assert.deepEqual(offOriginRequests(), [], 'requests to another origin than the local stack');
    assert.deepEqual(observed.pageErrors, [], 'script errors in the pages');
    assert.deepEqual(observed.consoleErrors, [], 'console errors, such as blocked resources or CSP violations');
    log(`${observed.requests.length} requests, all to ${ourOrigin}`);
  } finally {
    await browser.close();
  }
}

try {
  await main();
  log('all checks passed');
} catch (error) {
  console.error(`[${settings.caseName}] FAILED: ${error.stack ?? error}`);
  if (observed.foreign.length > 0) {
    console.error(`[${settings.caseName}] blocked requests to other origins:\n  ${observed.foreign.join('\n  ')}`);
  }
  if (observed.requests.length > 0) {
    console.error(`[${settings.caseName}] requests so far:\n  ${observed.requests.join('\n  ')}`);
  }
  process.exitCode = 1;
}
