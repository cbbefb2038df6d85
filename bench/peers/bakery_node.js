// Time npm openbadges-bakery on the inputs of a bench manifest.
//
// Usage: node bakery_node.js DIR
//
// Prints one JSON line per input and operation, as `accolade bench-bake DIR` does, with the
// same rules. Each operation gets one checked call that is not timed and a warm-up of at least
// 5 calls and 0.25 s. Then N calls are each timed alone with process.hrtime.bigint(), where N
// is BENCH_N, or as many as fill BENCH_SECONDS (default 1.0 s) at the warm-up's mean, clamped
// to 15..5000. Inputs and outputs stay in memory (Buffers and strings). The bakery's API takes
// callbacks, so each call is timed from the call to its callback.
//
// What each operation passes to the bakery:
// - bake-url: `bake({image, url})`; an SVG gets the URL in `verify` and no CDATA;
// - bake-json: `bake({image, assertion: JSON.parse(text), url})`, the parse inside the timed
//   call. The SVG baker writes `verify` only from `url`, a signature or the Open Badges 1.0
//   `verify.url`, so a 2.0 hosted assertion needs `url` too;
// - unbake: `extract(DIR/baked/<name>)`.
//
// openbadges-bakery 1.0.5 throws an uncaught TypeError from its PNG writer (bitwriter, used
// by streampng) on Node 20, after `bake` has returned. The checked call catches it through
// `uncaughtException` and the operation is reported with that error.

'use strict';

const fs = require('fs');
const path = require('path');
const bakery = require('openbadges-bakery');

const WARMUP_CALLS = 5;
const WARMUP_SECONDS = 0.25;
const MIN_CALLS = 15;
const MAX_CALLS = 5000;
const DEFAULT_SECONDS = 1.0;
const CHECK_TIMEOUT_MS = 10000;

function callCount(meanSeconds) {
  if (process.env.BENCH_N !== undefined) return Number.parseInt(process.env.BENCH_N, 10);
  const seconds = process.env.BENCH_SECONDS !== undefined
    ? Number.parseFloat(process.env.BENCH_SECONDS)
    : DEFAULT_SECONDS;
  const fitting = meanSeconds > 0 ? Math.ceil(seconds / meanSeconds) : MAX_CALLS;
  return Math.max(MIN_CALLS, Math.min(MAX_CALLS, fitting));
}

// Linear interpolation between the closest ranks (numpy's default).
function percentile(sorted, p) {
  const rank = p * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - lower);
}

// Turns a callback call into a promise that also fails on an uncaught exception, which is how
// the PNG baker fails on Node 20.
function settle(start) {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (error, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      process.removeListener('uncaughtException', onUncaught);
      if (error) reject(error);
      else resolve(value);
    };
    const onUncaught = (error) => finish(error);
    const timer = setTimeout(
      () => finish(new Error(`no callback within ${CHECK_TIMEOUT_MS} ms`)),
      CHECK_TIMEOUT_MS,
    );
    process.on('uncaughtException', onUncaught);
    try {
      start((error, value) => finish(error, value));
    } catch (error) {
      finish(error);
    }
  });
}

// A plain promise of one callback call, for the timed calls: the checked call has already
// shown that this operation does not crash, so no listener or timer adds to the time.
function call(start) {
  return new Promise((resolve, reject) => {
    start((error, value) => (error ? reject(error) : resolve(value)));
  });
}

async function measure(start) {
  const warmupStart = process.hrtime.bigint();
  const elapsedSeconds = () => Number(process.hrtime.bigint() - warmupStart) / 1e9;
  let warmupCalls = 0;
  while (warmupCalls < WARMUP_CALLS || elapsedSeconds() < WARMUP_SECONDS) {
    await call(start);
    warmupCalls += 1;
  }
  const n = callCount(elapsedSeconds() / warmupCalls);

  const samples = [];
  for (let i = 0; i < n; i += 1) {
    const begin = process.hrtime.bigint();
    await call(start);
    samples.push(Number(process.hrtime.bigint() - begin));
  }
  samples.sort((a, b) => a - b);
  const micros = (ns) => Math.round(ns) / 1000;
  return {
    n,
    median_us: micros(percentile(samples, 0.5)),
    p10_us: micros(percentile(samples, 0.1)),
    p90_us: micros(percentile(samples, 0.9)),
  };
}

function sameAssertion(found, assertion, url) {
  if (found === url) return true;
  try {
    return JSON.stringify(JSON.parse(found)) === JSON.stringify(JSON.parse(assertion));
  } catch (_) {
    return false;
  }
}

async function main() {
  const folder = process.argv[2];
  const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'manifest.json'), 'utf8'));
  const url = manifest.assertion_url;
  const assertion = fs.readFileSync(path.join(folder, manifest.assertion), 'utf8');
  const version = require('openbadges-bakery/package.json').version;
  const tool = `npm-openbadges-bakery@${version}`;
  let failures = 0;

  for (const item of manifest.inputs) {
    const image = fs.readFileSync(path.join(folder, item.path));
    for (const op of ['bake-url', 'bake-json', 'unbake']) {
      const line = { tool, op, input: item.name };
      try {
        let start;
        let found;
        if (op === 'unbake') {
          const baked = fs.readFileSync(path.join(folder, 'baked', item.name));
          start = (callback) => bakery.extract(baked, callback);
          found = await settle(start);
        } else {
          start = op === 'bake-url'
            ? (callback) => bakery.bake({ image, url }, callback)
            : (callback) => bakery.bake({ image, assertion: JSON.parse(assertion), url }, callback);
          const output = await settle(start);
          found = await settle((callback) => bakery.extract(Buffer.from(output), callback));
        }
        if (!sameAssertion(String(found), assertion, url)) {
          throw new Error(`read back ${JSON.stringify(String(found).slice(0, 80))}, not the assertion or its URL`);
        }
        Object.assign(line, await measure(start));
      } catch (error) {
        failures += 1;
        line.error = `${error.name}: ${error.message}`;
      }
      console.log(JSON.stringify(line));
    }
  }
  process.exitCode = failures ? 1 : 0;
}

main();
