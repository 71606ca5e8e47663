'use strict';

// One REST-hook trigger per EPOS event. Zapier subscribes when a Zap is turned on, EPOS POSTs
// each event (signed per Standard Webhooks) to bundle.targetUrl, and Zapier unsubscribes when
// the Zap is turned off. performList reads the same events from the feed for the Zap editor.

const { apiUrl, raiseForStatus } = require('../lib/http');
const { EVENTS, flatten, outputFields, sampleEvent, verifySignature } = require('../lib/events');

const subscribe = (event) => async (z, bundle) => {
  const response = await z.request({
    method: 'POST',
    url: apiUrl(bundle, '/hooks/'),
    body: { target_url: bundle.targetUrl, event },
  });
  return response.data; // {id, target_url, event, secret, status, created_at}: bundle.subscribeData
};

const unsubscribe = async (z, bundle) => {
  const id = bundle.subscribeData && bundle.subscribeData.id;
  if (id === undefined || id === null || id === '') {
    throw new z.errors.Error('This Zap has no EPOS subscription to remove.', 'InvalidData', 400);
  }
  const response = await z.request({
    method: 'DELETE',
    url: apiUrl(bundle, `/hooks/${encodeURIComponent(id)}/`),
    skipThrowForStatus: true,
  });
  // 204, also when already gone; an older EPOS may answer 404 for a removed hook: same result.
  if (response.status !== 404) {
    raiseForStatus(response, z);
  }
  return { id, unsubscribed: true, status: response.status };
};

// The webhook body is the event itself. When Zapier hands over the raw request and the
// subscription's secret, a body whose signature does not match is refused.
const perform = (z, bundle) => {
  const secret = bundle.subscribeData && bundle.subscribeData.secret;
  const raw = bundle.rawRequest;
  if (secret && raw && raw.headers && typeof raw.content === 'string' && raw.content) {
    const signed = Object.keys(raw.headers).some((k) => /webhook-signature$/i.test(k.replace(/_/g, '-')));
    if (signed && !verifySignature({ secret, headers: raw.headers, body: raw.content })) {
      throw new z.errors.Error(
        'The webhook signature does not match this subscription: the request was not sent by EPOS.',
        'InvalidSignature',
        401,
      );
    }
  }
  return [flatten(bundle.cleanedRequest)];
};

const list = (event) => async (z, bundle) => {
  const response = await z.request({
    method: 'GET',
    url: apiUrl(bundle, '/events/'),
    params: { type: event, page_size: 25 },
  });
  const results = (response.data && response.data.results) || [];
  return results.map(flatten);
};

const hookTrigger = (event) => {
  const info = EVENTS[event];
  return {
    key: info.key,
    noun: info.noun,
    display: { label: info.label, description: info.description },
    operation: {
      type: 'hook',
      performSubscribe: subscribe(event),
      performUnsubscribe: unsubscribe,
      perform,
      performList: list(event),
      sample: flatten(sampleEvent(event)),
      outputFields: outputFields(event),
    },
  };
};

const triggers = Object.keys(EVENTS).map(hookTrigger);

module.exports = { triggers, subscribe, unsubscribe, perform, list };
