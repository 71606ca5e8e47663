'use strict';

const { App, appTester, bundleWith, describeLive, rejection, seed } = require('./helpers');

const findOpportunity = App.searches.find_opportunity.operation.perform;
const findAccount = App.searches.find_account.operation.perform;

describeLive('searches (live EPOS)', () => {
  let s;
  beforeAll(async () => {
    s = await seed();
  });

  test('find_opportunity by name puts the exact match first', async () => {
    const results = await appTester(findOpportunity, bundleWith({ name: s.opportunity.name.toUpperCase() }));
    expect(results[0].id).toBe(s.opportunity.id);
    expect(results[0]).toMatchObject({ name: s.opportunity.name, stage: expect.objectContaining({ id: expect.any(Number) }) });
  });

  test('find_opportunity by an unknown name finds nothing', async () => {
    const results = await appTester(findOpportunity, bundleWith({ name: 'no deal is called this zq9x' }));
    expect(results).toEqual([]);
  });

  (process.env.EPOS_EXTERNAL_ID ? test : test.skip)('find_opportunity by external id', async () => {
    const results = await appTester(findOpportunity, bundleWith({ external_id: process.env.EPOS_EXTERNAL_ID, name: 'ignored' }));
    expect(results.map((o) => o.id)).toEqual([s.opportunity.id]);
  });

  test('find_opportunity by an unknown external id finds nothing (the filter is applied)', async () => {
    const results = await appTester(findOpportunity, bundleWith({ external_id: 'no-such-external-id-zq9x' }));
    expect(results).toEqual([]);
  });

  test('find_opportunity needs a name or an external id', async () => {
    const error = await rejection(appTester(findOpportunity, bundleWith({})));
    expect(error.message).toMatch(/name or an external ID/);
  });

  test('find_account by name', async () => {
    expect(s.opportunity.account).toBeTruthy();
    const results = await appTester(findAccount, bundleWith({ name: s.opportunity.account.name }));
    expect(results[0]).toMatchObject({ id: s.opportunity.account.id, name: s.opportunity.account.name });
    const none = await appTester(findAccount, bundleWith({ name: 'no account is called this zq9x' }));
    expect(none).toEqual([]);
  });
});
