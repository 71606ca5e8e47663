'use strict';

const { App, appTester, authData, describeLive, rejection } = require('./helpers');

describeLive('authentication (live EPOS)', () => {
  test('a good key passes the test call: GET /api/v1/me/', async () => {
    const me = await appTester(App.authentication.test, { authData: authData() });
    expect(me).toMatchObject({ id: expect.any(Number), username: expect.any(String) });
    expect(me).toHaveProperty('name');
    expect(me).toHaveProperty('email');
    expect(Array.isArray(me.roles)).toBe(true);
    expect(me.roles.length).toBeGreaterThan(0);

    const label = await appTester(App.authentication.connectionLabel, { authData: authData(), inputData: me });
    expect(label).toContain(me.username);
    expect(label).toContain(new URL(process.env.EPOS_BASE_URL).host);
  });

  test('the EPOS URL may be given with a trailing slash or /api/v1/', async () => {
    const base = process.env.EPOS_BASE_URL.replace(/\/+$/, '');
    const me = await appTester(App.authentication.test, { authData: authData({ base_url: `${base}/api/v1/` }) });
    expect(me.id).toEqual(expect.any(Number));
  });

  test('a bad key is rejected with a clear authentication error', async () => {
    const badKey = process.env.EPOS_BAD_API_KEY || 'epos_not-a-real-key-0000000000000000';
    const error = await rejection(appTester(App.authentication.test, { authData: authData({ api_key: badKey }) }));
    expect(error).toMatchObject({ code: 'AuthenticationError', status: 401 });
    expect(error.message).toMatch(/EPOS rejected the API key/);
    expect(error.message).not.toContain(badKey);
  });
});
