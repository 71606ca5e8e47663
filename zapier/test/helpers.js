'use strict';

// Shared by the jest tests: the live EPOS to talk to, a webhook receiver, small waits.
//
// Environment (a .env file in zapier/ works too, through zapier.tools.env.inject()):
//   EPOS_BASE_URL        e.g. http://127.0.0.1:8000       (required by the live tests)
//   EPOS_API_KEY         a personal API key of a user with an SA/manager role (required)
//   EPOS_BAD_API_KEY     a key EPOS must refuse (optional; a made-up one by default)
//   EPOS_OPPORTUNITY_ID  a deal the key's user may edit, moved around by the hook tests
//                        (optional: else the newest open opportunity the user sees)
//   EPOS_PROCESS_ID      the process for created deals (optional: else that deal's process)
//   EPOS_EXTERNAL_ID     an external ID recorded for EPOS_OPPORTUNITY_ID (optional; the
//                        positive external-ID search is skipped without it)

const http = require('http');
const zapier = require('zapier-platform-core');

zapier.tools.env.inject();

const App = require('../index');

const appTester = zapier.createAppTester(App);

const LIVE = Boolean(process.env.EPOS_BASE_URL && process.env.EPOS_API_KEY);
const describeLive = LIVE ? describe : describe.skip;

const authData = (overrides = {}) =>
  Object.assign({ base_url: process.env.EPOS_BASE_URL, api_key: process.env.EPOS_API_KEY }, overrides);

const bundleWith = (inputData = {}, extra = {}) => Object.assign({ authData: authData(), inputData }, extra);

// Direct calls to EPOS through the app's own request client (auth header, error handling).
const api = (method, path, body, params) =>
  appTester(
    (z, bundle) =>
      z
        .request({
          method,
          url: `${process.env.EPOS_BASE_URL.replace(/\/+$/, '')}/api/v1${path}`,
          body,
          params,
        })
        .then((response) => response.data),
    bundleWith(),
  );

// The error a Zapier step failed with: {name, message, code, status} (z.errors.Error carries
// JSON in its message).
const rejection = async (promise) => {
  try {
    await promise;
  } catch (err) {
    let parsed;
    try {
      parsed = JSON.parse(err.message);
    } catch (notJson) {
      parsed = { message: err.message };
    }
    return Object.assign({ name: err.name }, typeof parsed === 'object' && parsed ? parsed : { message: err.message });
  }
  throw new Error('Expected the step to fail, but it succeeded.');
};

const unique = (prefix) => `${prefix} ${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

// The deal, its process and its stages that the live tests work with.
let seedPromise = null;
const seed = () => {
  if (!seedPromise) {
    seedPromise = (async () => {
      const me = await api('GET', '/me/');
      let opportunity;
      if (process.env.EPOS_OPPORTUNITY_ID) {
        opportunity = await api('GET', `/opportunities/${process.env.EPOS_OPPORTUNITY_ID}/`);
      } else {
        const page = await api('GET', '/opportunities/', undefined, { outcome: 'open', page_size: 1 });
        if (!page.results.length) {
          throw new Error('No open opportunity to work with: set EPOS_OPPORTUNITY_ID.');
        }
        opportunity = page.results[0];
      }
      const processId = Number(process.env.EPOS_PROCESS_ID || opportunity.process);
      const processDetail = await api('GET', `/processes/${processId}/`);
      const stages = processDetail.stages.slice().sort((a, b) => a.position - b.position);
      const open = stages.filter((s) => s.kind === 'open');
      return {
        me,
        opportunity,
        process: processDetail,
        stages,
        firstStage: open[0],
        secondStage: open[1],
        wonStage: stages.find((s) => s.kind === 'won'),
        lostStage: stages.find((s) => s.kind === 'lost'),
      };
    })();
  }
  return seedPromise;
};

// A local HTTP server that records every POST it receives, for the REST-hook tests.
const startReceiver = () =>
  new Promise((resolve) => {
    const received = [];
    const waiters = [];
    const server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (chunk) => chunks.push(chunk));
      req.on('end', () => {
        const delivery = { method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        received.push(delivery);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"ok":true}');
        waiters.slice().forEach((waiter) => waiter());
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      const receiver = {
        url: (path) => `http://127.0.0.1:${port}${path}`,
        received,
        // The first delivery to `path` matching `predicate`, waiting up to `timeoutMs`.
        waitFor: (path, predicate = () => true, timeoutMs = 15000) =>
          new Promise((done, fail) => {
            const find = () => received.find((d) => d.path === path && predicate(d));
            const hit = find();
            if (hit) {
              done(hit);
              return;
            }
            const waiter = () => {
              const found = find();
              if (found) {
                clearTimeout(timer);
                waiters.splice(waiters.indexOf(waiter), 1);
                done(found);
              }
            };
            const timer = setTimeout(() => {
              waiters.splice(waiters.indexOf(waiter), 1);
              fail(new Error(`No webhook delivery to ${path} within ${timeoutMs} ms; got: ${JSON.stringify(received.map((d) => d.path))}`));
            }, timeoutMs);
            waiters.push(waiter);
          }),
        close: () =>
          new Promise((closed) => {
            server.close(() => closed());
            server.closeAllConnections();
          }),
      };
      resolve(receiver);
    });
  });

module.exports = { App, api, appTester, authData, bundleWith, describeLive, LIVE, rejection, seed, startReceiver, unique, zapier };
