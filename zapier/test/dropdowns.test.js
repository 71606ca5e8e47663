'use strict';

const { App, appTester, bundleWith, describeLive, seed } = require('./helpers');

describeLive('dynamic dropdowns (live EPOS)', () => {
  let s;
  beforeAll(async () => {
    s = await seed();
  });

  test('process_list lists processes with id and name', async () => {
    const processes = await appTester(App.triggers.process_list.operation.perform, bundleWith({}, { meta: { page: 0 } }));
    const mine = processes.find((p) => p.id === s.process.id);
    expect(mine).toBeDefined();
    expect(mine.name).toContain(s.process.name);
    // Past the last page: empty, not an error.
    const beyond = await appTester(App.triggers.process_list.operation.perform, bundleWith({}, { meta: { page: 50 } }));
    expect(beyond).toEqual([]);
  });

  test('stage_list lists the stages of the chosen process, in order', async () => {
    const stages = await appTester(App.triggers.stage_list.operation.perform, bundleWith({ process: s.process.id }));
    expect(stages.map((st) => st.id)).toEqual(s.stages.map((st) => st.id));
    expect(stages[0]).toMatchObject({ name: s.stages[0].name, process_id: s.process.id, kind: s.stages[0].kind });
  });

  test("stage_list follows the chosen opportunity's process", async () => {
    const stages = await appTester(App.triggers.stage_list.operation.perform, bundleWith({ opportunity: s.opportunity.id }));
    expect(stages.map((st) => st.id)).toEqual(s.stages.map((st) => st.id));
  });

  test('stage_list without a process lists every process\'s stages', async () => {
    const stages = await appTester(App.triggers.stage_list.operation.perform, bundleWith({}));
    const first = stages.find((st) => st.id === s.stages[0].id);
    expect(first.name).toBe(`${s.process.name} › ${s.stages[0].name}`);
  });

  test('user_list lists users (GET /api/v1/users/), including the caller', async () => {
    const users = await appTester(App.triggers.user_list.operation.perform, bundleWith({}, { meta: { page: 0 } }));
    const me = users.find((u) => u.id === s.me.id);
    expect(me).toBeDefined();
    expect(me.username).toBe(s.me.username);
    expect(me.label).toContain(s.me.username);
  });

  test('account_list lists accounts', async () => {
    const accounts = await appTester(App.triggers.account_list.operation.perform, bundleWith({}, { meta: { page: 0 } }));
    expect(accounts.length).toBeGreaterThan(0);
    expect(accounts[0]).toMatchObject({ id: expect.any(Number), name: expect.any(String) });
    if (s.opportunity.account) {
      expect(accounts.map((a) => a.id)).toContain(s.opportunity.account.id);
    }
  });
});
