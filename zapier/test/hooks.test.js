'use strict';

// REST hooks end to end: subscribe with a local receiver's URL, make EPOS emit the event, check
// the signed delivery (Standard Webhooks), run perform on it, find it in performList, unsubscribe.

const crypto = require('crypto');

const { App, api, appTester, bundleWith, describeLive, seed, startReceiver, unique } = require('./helpers');

const op = (key) => App.triggers[key].operation;
const create = (key, inputData) => appTester(App.creates[key].operation.perform, bundleWith(inputData));

// Standard Webhooks, checked independently of the app's own verifier.
const checkSignature = (delivery, secret) => {
  const id = delivery.headers['webhook-id'];
  const timestamp = delivery.headers['webhook-timestamp'];
  const signature = delivery.headers['webhook-signature'];
  expect(id).toEqual(expect.any(String));
  expect(timestamp).toMatch(/^\d+$/);
  expect(Math.abs(Date.now() / 1000 - Number(timestamp))).toBeLessThan(300);
  expect(signature.startsWith('v1,')).toBe(true);
  expect(secret.startsWith('whsec_')).toBe(true);
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = crypto.createHmac('sha256', key).update(`${id}.${timestamp}.${delivery.body}`).digest('base64');
  const given = signature.split(' ').map((part) => part.replace(/^v1,/, ''));
  expect(given).toContain(expected);
};

describeLive('REST hooks (live EPOS)', () => {
  let s;
  let receiver;

  beforeAll(async () => {
    s = await seed();
    receiver = await startReceiver();
  });

  afterAll(async () => {
    if (receiver) {
      await receiver.close();
    }
  });

  const subscribe = async (triggerKey, event) => {
    const path = `/hooks/${triggerKey}/${unique('t').replace(' ', '-')}`;
    const targetUrl = receiver.url(path);
    const subscription = await appTester(op(triggerKey).performSubscribe, bundleWith({}, { targetUrl }));
    expect(subscription).toMatchObject({ id: expect.any(Number), target_url: targetUrl, event, status: 'active' });
    expect(subscription.secret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
    expect(subscription.created_at).toEqual(expect.any(String));
    return { path, subscription };
  };

  const unsubscribe = async (triggerKey, subscription) => {
    const gone = await appTester(op(triggerKey).performUnsubscribe, bundleWith({}, { subscribeData: subscription }));
    expect(gone).toEqual({ id: subscription.id, unsubscribed: true, status: 204 });
    // Zapier may retry an unsubscribe: the second one succeeds too.
    const again = await appTester(op(triggerKey).performUnsubscribe, bundleWith({}, { subscribeData: subscription }));
    expect(again.status).toBe(204);
  };

  // The delivery, verified, through perform and performList: returns the flattened event.
  const checkDelivery = async (triggerKey, path, subscription, predicate) => {
    const delivery = await receiver.waitFor(path, (d) => predicate(JSON.parse(d.body)));
    expect(delivery.method).toBe('POST');
    expect(delivery.headers['content-type']).toMatch(/^application\/json/);
    checkSignature(delivery, subscription.secret);
    const event = JSON.parse(delivery.body);
    expect(event).toMatchObject({ id: expect.any(Number), type: subscription.event, timestamp: expect.any(String), data: expect.any(Object) });
    expect(Number.isNaN(Date.parse(event.timestamp))).toBe(false);

    // perform, with the raw request as Zapier hands it over (so the app verifies the signature too).
    const rawHeaders = {};
    Object.keys(delivery.headers).forEach((name) => {
      rawHeaders[`Http-${name.replace(/(^|-)([a-z])/g, (m, dash, c) => dash + c.toUpperCase())}`] = delivery.headers[name];
    });
    const performed = await appTester(
      op(triggerKey).perform,
      bundleWith({}, { cleanedRequest: event, rawRequest: { headers: rawHeaders, content: delivery.body }, subscribeData: subscription }),
    );
    expect(performed).toHaveLength(1);
    const flat = performed[0];
    expect(flat).toMatchObject(Object.assign({}, event.data, { id: event.id, type: event.type, timestamp: event.timestamp }));

    // performList: the same event, with the same id, is in the feed.
    const listed = await appTester(op(triggerKey).performList, bundleWith());
    expect(listed.length).toBeLessThanOrEqual(25);
    listed.forEach((item) => expect(item.type).toBe(subscription.event));
    const same = listed.find((item) => item.id === event.id);
    expect(same).toEqual(flat);
    return flat;
  };

  test('full cycle: opportunity.stage_changed', async () => {
    const { path, subscription } = await subscribe('opportunity_stage_changed', 'opportunity.stage_changed');
    const before = s.opportunity;
    const moved = await create('move_opportunity', {
      opportunity: String(before.id),
      stage: String(s.lostStage.id),
      loss_reason: 'Chose a competitor',
      note: 'Zapier hook test',
    });
    expect(moved.stage.id).toBe(s.lostStage.id);

    const flat = await checkDelivery('opportunity_stage_changed', path, subscription, (e) => e.data.opportunity_id === before.id);
    expect(flat).toMatchObject({
      opportunity_id: before.id,
      name: before.name,
      process_id: before.process,
      stage_id: s.lostStage.id,
      stage_name: s.lostStage.name,
      outcome: 'lost',
      owner_id: before.owner ? before.owner.id : null,
      version: moved.version,
      from_stage_id: before.stage.id,
      from_stage_name: before.stage.name,
      to_stage_id: s.lostStage.id,
      to_stage_name: s.lostStage.name,
      transition_id: expect.any(Number),
      moved_at: expect.any(String),
      currency: before.currency,
    });
    expect(Number(flat.amount)).toBe(Number(before.amount));

    await unsubscribe('opportunity_stage_changed', subscription);
  });

  test('opportunity.lost and opportunity.won', async () => {
    const lostHook = await subscribe('opportunity_lost', 'opportunity.lost');
    const wonHook = await subscribe('opportunity_won', 'opportunity.won');
    const id = s.opportunity.id;
    // Reopen (the previous test lost it), lose it again, then win it.
    await create('move_opportunity', { opportunity: id, stage: s.firstStage.id });
    await create('move_opportunity', { opportunity: id, stage: s.lostStage.id, loss_reason: 'Timing' });
    const lost = await checkDelivery('opportunity_lost', lostHook.path, lostHook.subscription, (e) => e.data.opportunity_id === id);
    expect(lost).toMatchObject({ opportunity_id: id, outcome: 'lost', loss_reason: 'Timing', to_stage_id: s.lostStage.id });

    // A lost deal reopens where it closed; it is won once every required item is done (a
    // straight Lost → Won would need a manager's override).
    await create('move_opportunity', { opportunity: id, stage: s.firstStage.id, note: 'Back in play' });
    const required = s.stages.filter((stage) => stage.kind === 'open').flatMap((stage) => stage.items.filter((item) => item.required));
    for (const item of required) {
      await api('PUT', `/opportunities/${id}/checklist/${item.id}/`, { done: true });
    }
    const won = await create('move_opportunity', { opportunity: id, stage: s.wonStage.id, note: 'Signed' });
    expect(won.outcome).toBe('won');
    const flat = await checkDelivery('opportunity_won', wonHook.path, wonHook.subscription, (e) => e.data.opportunity_id === id);
    expect(flat).toMatchObject({ opportunity_id: id, outcome: 'won', from_stage_id: s.firstStage.id, to_stage_id: s.wonStage.id });
    for (const item of required) {
      await api('PUT', `/opportunities/${id}/checklist/${item.id}/`, { done: false });
    }

    await unsubscribe('opportunity_lost', lostHook.subscription);
    await unsubscribe('opportunity_won', wonHook.subscription);
    // Leave the seeded deal open in its first stage again.
    await create('move_opportunity', { opportunity: id, stage: s.firstStage.id, note: 'Reopened by the Zapier tests' });
  });

  test('opportunity.created', async () => {
    const { path, subscription } = await subscribe('opportunity_created', 'opportunity.created');
    const name = unique('Zapier hook deal');
    const deal = await create('create_opportunity', { name, process: s.process.id, amount: '500' });
    const flat = await checkDelivery('opportunity_created', path, subscription, (e) => e.data.opportunity_id === deal.id);
    expect(flat).toMatchObject({ opportunity_id: deal.id, name, process_id: s.process.id, stage_id: s.firstStage.id, outcome: 'open', version: 1 });
    await unsubscribe('opportunity_created', subscription);
  });

  test('esat.received', async () => {
    const { path, subscription } = await subscribe('esat_received', 'esat.received');
    const esat = await create('create_esat_response', { opportunity: s.opportunity.id, score: 5, comment: 'via hook test' });
    const flat = await checkDelivery('esat_received', path, subscription, (e) => e.data.esat_response_id === esat.id);
    expect(flat).toMatchObject({ esat_response_id: esat.id, opportunity_id: s.opportunity.id, stage_id: esat.stage, score: 5 });
    await unsubscribe('esat_received', subscription);
  });

  test('building_block.published: subscribe, list, perform, unsubscribe', async () => {
    // Publishing needs a curator; here the subscription, the feed and perform are checked.
    const { subscription } = await subscribe('building_block_published', 'building_block.published');
    const listed = await appTester(op('building_block_published').performList, bundleWith());
    expect(Array.isArray(listed)).toBe(true);
    listed.forEach((item) => expect(item).toMatchObject({ id: expect.any(Number), type: 'building_block.published', block_id: expect.any(Number) }));
    const event = { id: 99999999, type: 'building_block.published', timestamp: new Date().toISOString(), data: op('building_block_published').sample };
    const performed = await appTester(op('building_block_published').perform, bundleWith({}, { cleanedRequest: event, subscribeData: subscription }));
    expect(performed[0]).toMatchObject({ id: 99999999, type: 'building_block.published', title: expect.any(String), block_id: expect.any(Number) });
    await unsubscribe('building_block_published', subscription);
  });

  test('the feed rejects an unknown event type with a clear error', async () => {
    const list = require('../triggers/hooks').list('opportunity.exploded');
    await expect(appTester(list, bundleWith())).rejects.toThrow(/Unknown event type/);
  });
});
