'use strict';

const { apiUrl, compact, toBool, toInt } = require('../lib/http');
const { opportunityField, OPPORTUNITY_SAMPLE, OPPORTUNITY_OUTPUT_FIELDS } = require('./fields');

// POST /api/v1/opportunities/{id}/move/ {stage, note?, override_reason?, loss_reason?,
// qualified_out?, expected_version?} → 200 opportunity. A 409 (a gate blocks: required items not
// done, or the version is stale) becomes an error naming the unmet items (lib/http.js).
const perform = async (z, bundle) => {
  const input = bundle.inputData;
  const body = compact({
    stage: toInt(input.stage),
    note: input.note,
    override_reason: input.override_reason,
    loss_reason: input.loss_reason,
    qualified_out: toBool(input.qualified_out),
    expected_version: toInt(input.expected_version),
  });
  const response = await z.request({
    method: 'POST',
    url: apiUrl(bundle, `/opportunities/${encodeURIComponent(input.opportunity)}/move/`),
    body,
  });
  return response.data;
};

module.exports = {
  key: 'move_opportunity',
  noun: 'Opportunity',
  display: {
    label: 'Move Opportunity to Stage',
    description:
      "Moves an opportunity to another stage of its process. Fails, naming them, when the current stage's required items are not done.",
  },
  operation: {
    perform,
    inputFields: [
      opportunityField({ altersDynamicFields: true }),
      {
        key: 'stage',
        label: 'Stage',
        type: 'integer',
        required: true,
        dynamic: 'stage_list.id.name',
        helpText: 'A stage of the opportunity’s own process.',
      },
      { key: 'note', label: 'Note', type: 'text', required: false },
      {
        key: 'override_reason',
        label: 'Override Reason',
        type: 'text',
        required: false,
        helpText: 'Managers only: move on although required items are still open, and say why.',
      },
      { key: 'loss_reason', label: 'Loss Reason', required: false, helpText: 'Required when moving to a Lost stage.' },
      { key: 'qualified_out', label: 'Qualified Out', type: 'boolean', required: false, helpText: 'With a Lost stage: record it as qualified out rather than lost.' },
      {
        key: 'expected_version',
        label: 'Expected Version',
        type: 'integer',
        required: false,
        helpText: 'Only move if the opportunity is still at this version (guards against concurrent edits).',
      },
    ],
    sample: OPPORTUNITY_SAMPLE,
    outputFields: OPPORTUNITY_OUTPUT_FIELDS,
  },
};
