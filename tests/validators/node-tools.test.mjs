// Self-test of the npm validators that the Rust tests call: ajv for JSON
// Schema draft 2019-09, jose for JWS signatures, and playwright-core driving
// Debian's chromium with axe-core. Run from tests/validators after `npm ci`:
//     ACCOLADE_CHROMIUM=/usr/bin/chromium node --test
// Every check fails, never skips, when a tool is missing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';

import Ajv2019 from 'ajv/dist/2019.js';
import addFormats from 'ajv-formats';
import * as jose from 'jose';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const chromiumPath = process.env.ACCOLADE_CHROMIUM || '/usr/bin/chromium';
// Flags for a headless run as root with no network use of its own.
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

test('ajv applies draft 2019-09 keywords and formats', () => {
  const ajv = new Ajv2019({ allErrors: true, strict: true });
  addFormats(ajv);
  const validate = ajv.compile({
    $schema: 'https://json-schema.org/draft/2019-09/schema',
    type: 'object',
    properties: { validFrom: { type: 'string', format: 'date-time' } },
    required: ['validFrom'],
    unevaluatedProperties: false,
  });

  assert.equal(validate({ validFrom: '2026-11-02T10:00:00Z' }), true, JSON.stringify(validate.errors));
  assert.equal(validate({ validFrom: 'yesterday' }), false);
  assert.equal(validate.errors[0].keyword, 'format');
  assert.equal(validate({ validFrom: '2026-11-02T10:00:00Z', extra: 1 }), false);
  assert.equal(validate.errors[0].keyword, 'unevaluatedProperties');
});

test('jose verifies ES256 and rejects a tampered token', async () => {
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256');
  const token = await new jose.SignJWT({ vc: { type: ['VerifiableCredential'] } })
    .setProtectedHeader({ alg: 'ES256', kid: 'test-key' })
    .setIssuer('https://issuer.example.org')
    .sign(privateKey);

  const { payload, protectedHeader } = await jose.jwtVerify(token, publicKey);
  assert.equal(payload.iss, 'https://issuer.example.org');
  assert.equal(protectedHeader.kid, 'test-key');

  const [header, , signature] = token.split('.');
  const forgedPayload = Buffer.from(JSON.stringify({ iss: 'https://attacker.example.org' })).toString('base64url');
  await assert.rejects(jose.jwtVerify(`${header}.${forgedPayload}.${signature}`, publicKey), {
    code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  });
});

test('chromium with axe-core finds a missing alt text', { timeout: 60_000 }, async () => {
  const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
  try {
    const page = await browser.newPage();
    const runAxe = async (html) => {
      await page.setContent(html);
      await page.addScriptTag({ content: axeSource });
      return page.evaluate(async () => (await globalThis.axe.run()).violations.map((violation) => violation.id));
    };
    const accessiblePage =
      '<!doctype html><html lang="en"><head><title>Badge</title></head>' +
      '<body><main><h1>Engage</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="Engage badge"></main></body></html>';

    assert.deepEqual(await runAxe(accessiblePage), []);
    assert.ok((await runAxe(accessiblePage.replace(' alt="Engage badge"', ''))).includes('image-alt'));
  } finally {
    await browser.close();
  }
});
