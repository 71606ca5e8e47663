'use strict';

const { App, api, appTester, bundleWith, describeLive, rejection, seed, unique } = require('./helpers');

const create = (key, inputData) => appTester(App.creates[key].operation.perform, bundleWith(inputData));

describeLive('creates (live EPOS)', () => {
  let s;
  let deal; // created here, so these tests never disturb the seeded deal

  beforeAll(async () => {
    s = await seed();
  });

  test('create_opportunity', async () => {
    const name = unique('Zapier deal');
    deal = await create('create_opportunity', {
      name,
      process: String(s.process.id),
      owner: String(s.me.id),
      account: s.opportunity.account ? String(s.opportunity.account.id) : undefined,
      amount: '12345.5',
      currency: 'eur',
      use_case: 'security',
      source: 'partner',
      approach: 'bottom_up',
      product: 'SIEM',
      expected_close_date: '2030-06-30T00:00:00-07:00',
    });
    expect(deal).toMatchObject({
      id: expect.any(Number),
      name,
      process: s.process.id,
      stage: expect.objectContaining({ id: s.firstStage.id }),
      owner: expect.objectContaining({ id: s.me.id }),
      amount: '12345.50',
      currency: 'EUR',
      use_case: 'security',
      source: 'partner',
      approach: 'bottom_up',
      expected_close_date: '2030-06-30',
      outcome: 'open',
      version: expect.any(Number),
    });
  });

  test('create_opportunity reports invalid input field by field', async () => {
    const error = await rejection(create('create_opportunity', { name: unique('Zapier deal'), process: '999999' }));
    expect(error).toMatchObject({ code: 'InvalidData', status: 400 });
    expect(error.message).toMatch(/process: /);
  });

  test('move_opportunity: a gate names the unmet required items (409)', async () => {
    const required = (s.firstStage.items || []).filter((item) => item.required);
    if (!required.length) {
      // Nothing gates the first stage of this process: the move simply succeeds.
      const moved = await create('move_opportunity', { opportunity: deal.id, stage: s.secondStage.id });
      expect(moved.stage.id).toBe(s.secondStage.id);
      deal = await create('move_opportunity', { opportunity: deal.id, stage: s.firstStage.id, note: 'back' });
      return;
    }
    const error = await rejection(create('move_opportunity', { opportunity: deal.id, stage: s.secondStage.id, note: 'try' }));
    expect(error).toMatchObject({ code: 'Conflict', status: 409 });
    expect(error.message).toContain('Unmet required items:');
    required.forEach((item) => expect(error.message).toContain(item.title));
  });

  test('move_opportunity: a stale expected_version is refused (409)', async () => {
    const error = await rejection(
      create('move_opportunity', { opportunity: deal.id, stage: s.lostStage.id, loss_reason: 'x', expected_version: String(deal.version + 5) }),
    );
    expect(error).toMatchObject({ code: 'Conflict', status: 409 });
    expect(error.message).toMatch(/changed by someone else/);
    expect(error.message).toContain(`Current version: ${deal.version}`);
  });

  test('move_opportunity: Lost needs a loss reason (400)', async () => {
    const error = await rejection(create('move_opportunity', { opportunity: deal.id, stage: s.lostStage.id }));
    expect(error).toMatchObject({ code: 'InvalidData', status: 400 });
    expect(error.message).toMatch(/loss_reason/);
  });

  test('move_opportunity to Lost with a reason, then back', async () => {
    const lost = await create('move_opportunity', {
      opportunity: String(deal.id),
      stage: String(s.lostStage.id),
      loss_reason: 'No budget',
      note: 'Moved by the Zapier tests',
      expected_version: String(deal.version),
    });
    expect(lost).toMatchObject({ id: deal.id, outcome: 'lost', loss_reason: 'No budget', version: deal.version + 1 });
    expect(lost.stage.id).toBe(s.lostStage.id);
    const reopened = await create('move_opportunity', { opportunity: deal.id, stage: s.firstStage.id });
    expect(reopened).toMatchObject({ outcome: 'open', stage: expect.objectContaining({ id: s.firstStage.id }) });
    const transitions = await api('GET', `/opportunities/${deal.id}/transitions/`);
    expect(transitions.results.some((t) => t.note === 'Moved by the Zapier tests')).toBe(true);
  });

  test('create_activity', async () => {
    const externalId = unique('zap-act').replace(' ', '-');
    const activity = await create('create_activity', {
      opportunity: String(deal.id),
      kind: 'call',
      summary: 'Discovery call logged from Zapier',
      occurred_at: '2025-03-04T10:15:00Z',
      duration_minutes: '30',
      external_id: externalId,
    });
    expect(activity).toMatchObject({
      id: expect.any(Number),
      opportunity: deal.id,
      kind: 'call',
      summary: 'Discovery call logged from Zapier',
      duration_minutes: 30,
      source: 'zapier',
      external_id: externalId,
      created_by: s.me.id,
    });
    expect(new Date(activity.occurred_at).toISOString()).toBe('2025-03-04T10:15:00.000Z');
    // The same external id again is refused with the server's message.
    const error = await rejection(create('create_activity', { opportunity: deal.id, kind: 'call', external_id: externalId }));
    expect(error.status).toBe(400);
  });

  test('create_esat_response', async () => {
    const esat = await create('create_esat_response', {
      opportunity: String(deal.id),
      score: '4',
      comment: 'Great workshop',
      respondent_email: 'cto@example.com',
    });
    expect(esat).toMatchObject({
      id: expect.any(Number),
      opportunity: deal.id,
      stage: s.firstStage.id,
      score: 4,
      comment: 'Great workshop',
      respondent_email: 'cto@example.com',
      source: 'zapier',
    });
    const error = await rejection(create('create_esat_response', { opportunity: deal.id, score: '9' }));
    expect(error).toMatchObject({ code: 'InvalidData', status: 400 });
    expect(error.message).toMatch(/score/);
  });
});
