'use strict';

// Offline checks: the app definition validates against Zapier's schema, events flatten, the
// Standard Webhooks signature verifies, and EPOS's error answers become clear Zapier errors
// (against a stand-in server on loopback, so no EPOS is needed).

const crypto = require('crypto');
const http = require('http');
const zapier = require('zapier-platform-core');

const App = require('../index');
const { baseUrl } = require('../lib/http');
const { flatten, sampleEvent, sign, verifySignature } = require('../lib/events');

const { rejection } = require('./helpers');

const appTester = zapier.createAppTester(App);

describe('app definition', () => {
  test('validates against the Zapier platform schema', async () => {
    const handler = zapier.createAppHandler(App);
    const result = await new Promise((resolve, reject) =>
      handler({ command: 'validate' }, {}, (err, res) => (err ? reject(err) : resolve(res))),
    );
    expect(result.results).toEqual([]);
  });

  test('has a REST-hook trigger with a sample for every EPOS event', () => {
    const hookTriggers = Object.values(App.triggers).filter((t) => t.operation.type === 'hook');
    expect(hookTriggers.map((t) => t.key).sort()).toEqual(
      [
        'building_block_published',
        'esat_received',
        'opportunity_created',
        'opportunity_lost',
        'opportunity_stage_changed',
        'opportunity_won',
      ].sort(),
    );
    hookTriggers.forEach((t) => {
      expect(typeof t.operation.performSubscribe).toBe('function');
      expect(typeof t.operation.performUnsubscribe).toBe('function');
      expect(typeof t.operation.performList).toBe('function');
      expect(t.operation.sample.id).toEqual(expect.any(Number));
      expect(t.operation.sample.type).toEqual(expect.stringMatching(/\./));
    });
  });
});

describe('helpers', () => {
  test('flatten keeps the event id, type and timestamp over the data', () => {
    const event = { id: 9, type: 'esat.received', timestamp: '2025-01-01T00:00:00Z', data: { id: 'x', score: 5, opportunity_id: 3 } };
    expect(flatten(event)).toEqual({ id: 9, type: 'esat.received', timestamp: '2025-01-01T00:00:00Z', score: 5, opportunity_id: 3 });
    expect(flatten(sampleEvent('opportunity.lost')).loss_reason).toBe('Budget cut');
  });

  test('the EPOS URL is normalised', () => {
    const url = (base_url) => baseUrl({ authData: { base_url } });
    expect(url('epos.example.com')).toBe('https://epos.example.com');
    expect(url(' https://epos.example.com/ ')).toBe('https://epos.example.com');
    expect(url('https://epos.example.com/api/v1/')).toBe('https://epos.example.com');
    expect(url('http://127.0.0.1:8000/epos')).toBe('http://127.0.0.1:8000/epos');
  });

  test('Standard Webhooks signatures verify, tampering does not', () => {
    const secret = `whsec_${crypto.randomBytes(24).toString('base64')}`;
    const body = JSON.stringify(sampleEvent('opportunity.won'));
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${sign(secret, 'msg_1', timestamp, body)}` };
    expect(verifySignature({ secret, headers, body })).toBe(true);
    // Zapier's rawRequest spells headers "Http-Webhook-Id"; several signatures may be given.
    const zapierHeaders = {
      'Http-Webhook-Id': 'msg_1',
      'Http-Webhook-Timestamp': timestamp,
      'Http-Webhook-Signature': `v1,AAAA v1,${sign(secret, 'msg_1', timestamp, body)}`,
    };
    expect(verifySignature({ secret, headers: zapierHeaders, body, toleranceSeconds: 300 })).toBe(true);
    expect(verifySignature({ secret, headers, body: body.replace('won', 'lost') })).toBe(false);
    expect(verifySignature({ secret: `whsec_${crypto.randomBytes(24).toString('base64')}`, headers, body })).toBe(false);
    expect(verifySignature({ secret, headers, body, toleranceSeconds: 300, now: Date.now() + 3600 * 1000 })).toBe(false);
  });

  test('perform refuses a delivery whose signature does not match', async () => {
    const secret = `whsec_${crypto.randomBytes(24).toString('base64')}`;
    const event = sampleEvent('esat.received', 77);
    const body = JSON.stringify(event);
    const rawRequest = {
      headers: { 'Http-Webhook-Id': 'msg_5', 'Http-Webhook-Timestamp': '1700000000', 'Http-Webhook-Signature': `v1,${sign(secret, 'msg_5', '1700000000', body)}` },
      content: body,
    };
    const perform = App.triggers.esat_received.operation.perform;
    const good = await appTester(perform, { cleanedRequest: event, rawRequest, subscribeData: { id: 1, secret } });
    expect(good).toEqual([flatten(event)]);
    await expect(
      appTester(perform, { cleanedRequest: event, rawRequest: Object.assign({}, rawRequest, { content: body.replace('77', '78') }), subscribeData: { id: 1, secret } }),
    ).rejects.toThrow(/signature does not match/);
  });
});

describe('error handling against a stand-in server', () => {
  let server;
  let base;
  const seen = [];

  beforeAll(
    () =>
      new Promise((resolve) => {
        server = http.createServer((req, res) => {
          seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization });
          const reply = (status, body) => {
            res.writeHead(status, { 'Content-Type': 'application/json' });
            res.end(body === undefined ? '' : JSON.stringify(body));
          };
          if (req.url === '/api/v1/me/') {
            if (req.headers.authorization === 'Token good') {
              return reply(200, { id: 1, username: 'alice', name: 'Alice Archer', email: 'a@example.com', roles: ['sa'] });
            }
            return reply(401, { detail: 'Invalid or revoked API key.' });
          }
          if (req.url === '/api/v1/opportunities/5/move/') {
            return reply(409, { detail: "2 required item(s) of 'Discovery' are not done yet.", unmet_items: [{ id: 1, title: 'Pain confirmed' }, { id: 2, title: 'Budget known' }] });
          }
          if (req.url === '/api/v1/opportunities/6/move/') {
            return reply(403, { detail: 'You may not change this opportunity.' });
          }
          if (req.url === '/api/v1/activities/') {
            return reply(400, { kind: ['"nap" is not a valid choice.'], opportunity: ['Invalid pk "9" - object does not exist.'] });
          }
          if (req.url.startsWith('/api/v1/accounts/')) {
            res.writeHead(404, { 'Content-Type': 'text/html' });
            return res.end('<!doctype html><html><body>Page not found</body></html>');
          }
          if (req.url === '/api/v1/hooks/404/') {
            return reply(404, { detail: 'Not found.' });
          }
          return reply(404, { detail: 'Not found.' });
        });
        server.listen(0, '127.0.0.1', () => {
          base = `http://127.0.0.1:${server.address().port}`;
          resolve();
        });
      }),
  );
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  test('the auth test sends "Token <key>" and returns the user', async () => {
    const me = await appTester(App.authentication.test, { authData: { base_url: base, api_key: 'good' } });
    expect(me.username).toBe('alice');
    expect(seen[seen.length - 1].authorization).toBe('Token good');
    const label = await appTester(App.authentication.connectionLabel, { authData: { base_url: base, api_key: 'good' }, inputData: me });
    expect(label).toBe(`Alice Archer (alice) @ ${base.replace('http://', '')}`);
  });

  test('a 401 is an authentication error with the server detail', async () => {
    const error = await rejection(appTester(App.authentication.test, { authData: { base_url: base, api_key: 'bad' } }));
    expect(error).toMatchObject({ name: 'AppError', code: 'AuthenticationError', status: 401 });
    expect(error.message).toMatch(/rejected the API key \(Invalid or revoked API key\.\)/);
  });

  test('a 409 from move names the unmet items', async () => {
    const error = await rejection(
      appTester(App.creates.move_opportunity.operation.perform, { authData: { base_url: base, api_key: 'good' }, inputData: { opportunity: 5, stage: 2 } }),
    );
    expect(error).toMatchObject({ code: 'Conflict', status: 409 });
    expect(error.message).toMatch(/not done yet\. Unmet required items: Pain confirmed; Budget known\.$/);
  });

  test('a 403 carries the server detail', async () => {
    const error = await rejection(
      appTester(App.creates.move_opportunity.operation.perform, { authData: { base_url: base, api_key: 'good' }, inputData: { opportunity: 6, stage: 2 } }),
    );
    expect(error).toMatchObject({ code: 'PermissionDenied', status: 403 });
    expect(error.message).toMatch(/You may not change this opportunity\./);
  });

  test('a 400 lists the field errors', async () => {
    const error = await rejection(
      appTester(App.creates.create_activity.operation.perform, { authData: { base_url: base, api_key: 'good' }, inputData: { opportunity: 9, kind: 'nap' } }),
    );
    expect(error).toMatchObject({ code: 'InvalidData', status: 400 });
    expect(error.message).toBe('EPOS rejected the request (400): kind: "nap" is not a valid choice.; opportunity: Invalid pk "9" - object does not exist.');
  });

  test('an HTML answer is not dumped into the error', async () => {
    const error = await rejection(
      appTester(App.searches.find_account.operation.perform, { authData: { base_url: base, api_key: 'good' }, inputData: { name: 'Acme' } }),
    );
    expect(error).toMatchObject({ code: 'NotFound', status: 404 });
    expect(error.message).toContain('not an EPOS API answer: check the EPOS URL');
    expect(error.message).not.toContain('<html');
  });

  test('unsubscribing a hook that is already gone succeeds', async () => {
    const result = await appTester(App.triggers.opportunity_won.operation.performUnsubscribe, {
      authData: { base_url: base, api_key: 'good' },
      subscribeData: { id: 404 },
    });
    expect(result).toEqual({ id: 404, unsubscribed: true, status: 404 });
  });
});
