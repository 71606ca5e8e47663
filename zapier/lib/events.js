'use strict';

const crypto = require('crypto');

// EPOS events, identical in the webhook POST body and in GET /api/v1/events/:
//   {"id": <int, unique per event>, "type": "<event>", "timestamp": "<ISO 8601>", "data": {...}}
// Zapier gets them flat, {id, type, timestamp, ...data}, and de-duplicates on `id` (the event id).
const flatten = (event) => {
  if (!event || typeof event !== 'object') {
    return event;
  }
  const data = event.data && typeof event.data === 'object' ? event.data : {};
  return Object.assign({}, data, { id: event.id, type: event.type, timestamp: event.timestamp });
};

// --- Standard Webhooks signature (https://www.standardwebhooks.com/) ---------------------------

// Header lookup that tolerates any case and Zapier's "Http-" prefix in bundle.rawRequest.headers.
const header = (headers, name) => {
  const wanted = name.toLowerCase();
  const found = Object.keys(headers || {}).find((key) => {
    const lower = key.toLowerCase().replace(/_/g, '-');
    return lower === wanted || lower === `http-${wanted}`;
  });
  return found === undefined ? undefined : headers[found];
};

const secretBytes = (secret) => Buffer.from(String(secret).replace(/^whsec_/, ''), 'base64');

const sign = (secret, id, timestamp, body) =>
  crypto.createHmac('sha256', secretBytes(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');

// true when one of the space-separated "v1,<base64>" signatures matches.
const verifySignature = ({ secret, headers, body, toleranceSeconds, now }) => {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!secret || !id || !timestamp || !signatures || typeof body !== 'string') {
    return false;
  }
  if (toleranceSeconds) {
    const current = Math.floor((now || Date.now()) / 1000);
    if (Math.abs(current - parseInt(timestamp, 10)) > toleranceSeconds) {
      return false;
    }
  }
  const expected = Buffer.from(sign(secret, id, timestamp, body));
  return String(signatures)
    .split(' ')
    .filter((part) => part.startsWith('v1,'))
    .some((part) => {
      const given = Buffer.from(part.slice(3));
      return given.length === expected.length && crypto.timingSafeEqual(given, expected);
    });
};

// --- samples ---------------------------------------------------------------------------------

const OPPORTUNITY_DATA = {
  opportunity_id: 42,
  name: 'Acme observability',
  process_id: 1,
  stage_id: 3,
  stage_name: 'Demo',
  outcome: 'open',
  amount: '25000.00',
  currency: 'USD',
  owner_id: 7,
  version: 3,
};

const MOVE_DATA = Object.assign({}, OPPORTUNITY_DATA, {
  from_stage_id: 2,
  from_stage_name: 'Discovery',
  to_stage_id: 3,
  to_stage_name: 'Demo',
  transition_id: 311,
  moved_at: '2025-03-04T10:15:00+00:00',
});

const EVENTS = {
  'opportunity.created': {
    key: 'opportunity_created',
    noun: 'Opportunity',
    label: 'New Opportunity',
    description: 'Triggers when an opportunity is created in EPOS.',
    data: Object.assign({}, OPPORTUNITY_DATA, { stage_id: 2, stage_name: 'Discovery', version: 1 }),
  },
  'opportunity.stage_changed': {
    key: 'opportunity_stage_changed',
    noun: 'Stage Change',
    label: 'Opportunity Stage Changed',
    description: 'Triggers when an opportunity moves to another stage (including Won and Lost).',
    data: MOVE_DATA,
  },
  'opportunity.won': {
    key: 'opportunity_won',
    noun: 'Opportunity',
    label: 'Opportunity Won',
    description: 'Triggers when an opportunity is moved to a Won stage.',
    data: Object.assign({}, MOVE_DATA, {
      stage_id: 6,
      stage_name: 'Won',
      to_stage_id: 6,
      to_stage_name: 'Won',
      outcome: 'won',
    }),
  },
  'opportunity.lost': {
    key: 'opportunity_lost',
    noun: 'Opportunity',
    label: 'Opportunity Lost',
    description: 'Triggers when an opportunity is moved to a Lost stage.',
    data: Object.assign({}, MOVE_DATA, {
      stage_id: 7,
      stage_name: 'Lost',
      to_stage_id: 7,
      to_stage_name: 'Lost',
      outcome: 'lost',
      loss_reason: 'Budget cut',
    }),
  },
  'esat.received': {
    key: 'esat_received',
    noun: 'ESAT Response',
    label: 'New ESAT Response',
    description: 'Triggers when an engagement-satisfaction (ESAT) score is recorded.',
    data: { esat_response_id: 17, opportunity_id: 42, stage_id: 3, score: 4 },
  },
  'building_block.published': {
    key: 'building_block_published',
    noun: 'Building Block',
    label: 'Building Block Published',
    description: 'Triggers when a curator publishes a building block (a new version counts).',
    data: {
      block_id: 12,
      title: 'Kubernetes monitoring demo',
      kind: 'demo',
      version: 2,
      owner_id: 7,
      reviewer_id: 9,
      published_at: '2025-03-04T10:15:00+00:00',
    },
  },
};

const sampleEvent = (type, id = 1001) => ({
  id,
  type,
  timestamp: '2025-03-04T10:15:00.123456+00:00',
  data: EVENTS[type].data,
});

const LABELS = {
  id: 'Event ID',
  type: 'Event Type',
  timestamp: 'Event Time',
  opportunity_id: 'Opportunity ID',
  name: 'Opportunity Name',
  process_id: 'Process ID',
  stage_id: 'Stage ID',
  stage_name: 'Stage',
  outcome: 'Outcome',
  amount: 'Amount',
  currency: 'Currency',
  owner_id: 'Owner ID',
  version: 'Version',
  from_stage_id: 'From Stage ID',
  from_stage_name: 'From Stage',
  to_stage_id: 'To Stage ID',
  to_stage_name: 'To Stage',
  transition_id: 'Transition ID',
  moved_at: 'Moved At',
  loss_reason: 'Loss Reason',
  esat_response_id: 'ESAT Response ID',
  score: 'Score',
  block_id: 'Building Block ID',
  title: 'Title',
  kind: 'Kind',
  reviewer_id: 'Reviewer ID',
  published_at: 'Published At',
};

const INTEGER_FIELDS = new Set([
  'id',
  'opportunity_id',
  'process_id',
  'stage_id',
  'owner_id',
  'version',
  'from_stage_id',
  'to_stage_id',
  'transition_id',
  'esat_response_id',
  'score',
  'block_id',
  'reviewer_id',
]);

const outputFields = (type) =>
  Object.keys(flatten(sampleEvent(type))).map((key) => {
    const field = { key, label: LABELS[key] || key };
    if (INTEGER_FIELDS.has(key)) {
      field.type = 'integer';
    } else if (['timestamp', 'moved_at', 'published_at'].includes(key)) {
      field.type = 'datetime';
    }
    return field;
  });

module.exports = {
  EVENTS,
  flatten,
  header,
  outputFields,
  sampleEvent,
  sign,
  verifySignature,
};
