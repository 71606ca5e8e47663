'use strict';

const { apiUrl, compact, toInt } = require('../lib/http');
const { opportunityField } = require('./fields');

// POST /api/v1/activities/ (ActivitySerializer)
// The source is not sent: EPOS takes it from the key. An integration key (an admin runs
// `manage.py create_api_key <user> --system zapier`) records 'zapier'; a personal key records
// what a person enters by hand ('manual').
const perform = async (z, bundle) => {
  const input = bundle.inputData;
  const body = compact({
    opportunity: toInt(input.opportunity),
    kind: input.kind,
    occurred_at: input.occurred_at,
    duration_minutes: toInt(input.duration_minutes),
    summary: input.summary,
    external_id: input.external_id,
  });
  const response = await z.request({ method: 'POST', url: apiUrl(bundle, '/activities/'), body });
  return response.data;
};

module.exports = {
  key: 'create_activity',
  noun: 'Activity',
  display: {
    label: 'Log Activity',
    description: 'Records a call, meeting, demo, workshop, email, POC work or note on an opportunity.',
  },
  operation: {
    perform,
    inputFields: [
      opportunityField(),
      {
        key: 'kind',
        label: 'Kind',
        required: true,
        choices: {
          call: 'Call',
          meeting: 'Meeting',
          demo: 'Demo',
          workshop: 'Workshop',
          email: 'Email',
          poc_work: 'POC work',
          note: 'Note',
        },
      },
      { key: 'summary', label: 'Summary', type: 'text', required: false },
      { key: 'occurred_at', label: 'Occurred At', type: 'datetime', required: false, helpText: 'Defaults to now.' },
      { key: 'duration_minutes', label: 'Duration (minutes)', type: 'integer', required: false },
      {
        key: 'external_id',
        label: 'External ID',
        required: false,
        helpText: 'An ID from the source system; EPOS refuses a second activity with the same one.',
      },
    ],
    sample: {
      id: 101,
      opportunity: 42,
      kind: 'call',
      occurred_at: '2025-03-04T10:15:00+00:00',
      duration_minutes: 30,
      summary: 'Discovery call with the platform team',
      source: 'zapier',
      external_id: '',
      created_by: 7,
    },
    outputFields: [
      { key: 'id', label: 'Activity ID', type: 'integer' },
      { key: 'opportunity', label: 'Opportunity ID', type: 'integer' },
      { key: 'kind', label: 'Kind' },
      { key: 'occurred_at', label: 'Occurred At', type: 'datetime' },
      { key: 'duration_minutes', label: 'Duration (minutes)', type: 'integer' },
      { key: 'summary', label: 'Summary' },
      { key: 'source', label: 'Source' },
      { key: 'external_id', label: 'External ID' },
      { key: 'created_by', label: 'Created By (user ID)', type: 'integer' },
    ],
  },
};
