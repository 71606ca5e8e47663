'use strict';

const { apiUrl, compact, toInt } = require('../lib/http');
const { opportunityField } = require('./fields');

// POST /api/v1/esat-responses/ (EsatResponseSerializer); the stage defaults to the opportunity's.
// The source is not sent: EPOS takes it from the key. An integration key (an admin runs
// `manage.py create_api_key <user> --system zapier`) records 'zapier'; a personal key records
// what a person enters by hand ('manual').
const perform = async (z, bundle) => {
  const input = bundle.inputData;
  const body = compact({
    opportunity: toInt(input.opportunity),
    score: toInt(input.score),
    stage: toInt(input.stage),
    comment: input.comment,
    respondent_email: input.respondent_email,
    received_at: input.received_at,
  });
  const response = await z.request({ method: 'POST', url: apiUrl(bundle, '/esat-responses/'), body });
  return response.data;
};

module.exports = {
  key: 'create_esat_response',
  noun: 'ESAT Response',
  display: {
    label: 'Record ESAT Response',
    description: 'Records an engagement-satisfaction score (1–5) for an opportunity, e.g. from a survey tool.',
  },
  operation: {
    perform,
    inputFields: [
      opportunityField({ altersDynamicFields: true }),
      {
        key: 'score',
        label: 'Score',
        type: 'integer',
        required: true,
        choices: { 1: '1 (very dissatisfied)', 2: '2', 3: '3', 4: '4', 5: '5 (very satisfied)' },
      },
      { key: 'stage', label: 'Stage', type: 'integer', required: false, dynamic: 'stage_list.id.name', helpText: 'Defaults to the opportunity’s current stage.' },
      { key: 'comment', label: 'Comment', type: 'text', required: false },
      { key: 'respondent_email', label: 'Respondent Email', required: false },
      { key: 'received_at', label: 'Received At', type: 'datetime', required: false, helpText: 'Defaults to now.' },
    ],
    sample: {
      id: 17,
      opportunity: 42,
      stage: 3,
      score: 4,
      comment: 'Great workshop',
      respondent_email: 'cto@acme.example',
      received_at: '2025-03-04T10:15:00+00:00',
      source: 'zapier',
    },
    outputFields: [
      { key: 'id', label: 'ESAT Response ID', type: 'integer' },
      { key: 'opportunity', label: 'Opportunity ID', type: 'integer' },
      { key: 'stage', label: 'Stage ID', type: 'integer' },
      { key: 'score', label: 'Score', type: 'integer' },
      { key: 'comment', label: 'Comment' },
      { key: 'respondent_email', label: 'Respondent Email' },
      { key: 'received_at', label: 'Received At', type: 'datetime' },
      { key: 'source', label: 'Source' },
    ],
  },
};
