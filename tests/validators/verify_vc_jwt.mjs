// Verify a VC-JWT with the `jose` library, independently of Accolade's own code.
//
// Usage: node verify_vc_jwt.mjs JWS_FILE [--jwks URL]
//
// Steps:
//   1. decode the protected header and list its members;
//   2. fetch the header's `kid` URL, which must be on a loopback host, and import the JWK it
//      returns with the header's `alg`;
//   3. verify the signature (compactVerify), then the JWT claims (jwtVerify: nbf, exp);
//   4. with --jwks, fetch the JWK Set, find the entry with the same `kid`, compare it with
//      the key from step 2, and verify the signature with the set as well.
//
// Prints one JSON object: {header, header_members, payload, kid_jwk, signature_valid,
// claims_valid, claims_error, jwks_entry, jwks_matches_kid, jwks_signature_valid}.
// Exit status: 0 every check passed, 1 a check failed, 2 the tool could not run (bad
// arguments, a non-loopback URL, a fetch that failed).
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';

import * as jose from 'jose';

const EXIT_VALID = 0;
const EXIT_INVALID = 1;
const EXIT_TOOL_FAILED = 2;

function fail(message) {
  console.error(`verify_vc_jwt: ${message}`);
  process.exit(EXIT_TOOL_FAILED);
}

function isLoopback(url) {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

async function fetchJson(url) {
  if (!isLoopback(url)) {
    fail(`refusing to fetch ${url}: only loopback hosts are reachable from the tests`);
  }
  const response = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!response.ok) {
    fail(`GET ${url} returned ${response.status}`);
  }
  return { body: await response.json(), contentType: response.headers.get('content-type') };
}

const args = process.argv.slice(2);
const file = args[0];
const jwksIndex = args.indexOf('--jwks');
const jwksUrl = jwksIndex >= 0 ? args[jwksIndex + 1] : undefined;
if (!file || (jwksIndex >= 0 && !jwksUrl)) {
  fail('usage: node verify_vc_jwt.mjs JWS_FILE [--jwks URL]');
}

const jws = readFileSync(file, 'utf8');
const header = jose.decodeProtectedHeader(jws);
const result = {
  header,
  header_members: Object.keys(header).sort(),
  payload: null,
  kid_jwk: null,
  kid_content_type: null,
  signature_valid: false,
  claims_valid: false,
  claims_error: null,
  jwks_entry: null,
  jwks_content_type: null,
  jwks_matches_kid: null,
  jwks_signature_valid: null,
};

if (typeof header.kid !== 'string') {
  fail('the JOSE header has no kid URL');
}
const fetched = await fetchJson(header.kid);
result.kid_jwk = fetched.body;
result.kid_content_type = fetched.contentType;
const key = await jose.importJWK(result.kid_jwk, header.alg);

try {
  const { payload } = await jose.compactVerify(jws, key, { algorithms: [header.alg] });
  result.payload = JSON.parse(new TextDecoder().decode(payload));
  result.signature_valid = true;
} catch (error) {
  result.claims_error = `signature: ${error.code ?? error.message}`;
}

if (result.signature_valid) {
  try {
    await jose.jwtVerify(jws, key, { algorithms: [header.alg] });
    result.claims_valid = true;
  } catch (error) {
    result.claims_error = error.code ?? error.message;
  }
}

if (jwksUrl) {
  const set = await fetchJson(jwksUrl);
  result.jwks_content_type = set.contentType;
  const entries = (set.body.keys ?? []).filter((entry) => entry.kid === header.kid);
  result.jwks_entry = entries.length === 1 ? entries[0] : null;
  result.jwks_matches_kid = entries.length === 1 && isDeepStrictEqual(entries[0], result.kid_jwk);
  try {
    await jose.compactVerify(jws, jose.createLocalJWKSet(set.body), { algorithms: [header.alg] });
    result.jwks_signature_valid = true;
  } catch {
    result.jwks_signature_valid = false;
  }
}

console.log(JSON.stringify(result, null, 2));
const valid =
  result.signature_valid &&
  result.claims_valid &&
  (jwksUrl === undefined || (result.jwks_matches_kid && result.jwks_signature_valid));
process.exit(valid ? EXIT_VALID : EXIT_INVALID);
