'use strict';

const { apiUrl, compact, toDate, toInt } = require('../lib/http');
const { OPPORTUNITY_SAMPLE, OPPORTUNITY_OUTPUT_FIELDS } = require('./fields');

// POST /api/v1/opportunities/ (OpportunityCreateSerializer)
const perform = async (z, bundle) => {
  const input = bundle.inputData;
  const body = compact({
    name: input.name,
    process: toInt(input.process),
    stage: toInt(input.stage),
    account: toInt(input.account),
    owner: toInt(input.owner),
    account_executive: toInt(input.account_executive),
    team: toInt(input.team),
    amount: input.amount,
    currency: input.currency ? String(input.currency).trim().toUpperCase() : undefined,
    product: input.product,
    use_case: input.use_case,
    source: input.source,
    approach: input.approach,
    expected_close_date: toDate(input.expected_close_date),
  });
  const response = await z.request({ method: 'POST', url: apiUrl(bundle, '/opportunities/'), body });
  return response.data;
};

module.exports = {
  key: 'create_opportunity',
  noun: 'Opportunity',
  display: {
    label: 'Create Opportunity',
    description: 'Creates an opportunity in EPOS, in the first stage of its process unless you pick one.',
  },
  operation: {
    perform,
    inputFields: [
      { key: 'name', label: 'Name', required: true },
      {
        key: 'process',
        label: 'Process',
        type: 'integer',
        required: true,
        dynamic: 'process_list.id.name',
        altersDynamicFields: true,
      },
      {
        key: 'stage',
        label: 'Stage',
        type: 'integer',
        required: false,
        dynamic: 'stage_list.id.name',
        helpText: 'Leave empty to start in the first stage of the process.',
      },
      { key: 'account', label: 'Account', type: 'integer', required: false, dynamic: 'account_list.id.name', search: 'find_account.id' },
      { key: 'owner', label: 'Owner (SA)', type: 'integer', required: false, dynamic: 'user_list.id.label' },
      { key: 'account_executive', label: 'Account Executive', type: 'integer', required: false, dynamic: 'user_list.id.label' },
      { key: 'team', label: 'Team ID', type: 'integer', required: false },
      { key: 'amount', label: 'Amount', type: 'number', required: false },
      { key: 'currency', label: 'Currency', required: false, default: 'USD', helpText: 'ISO 4217 code, e.g. USD, EUR.' },
      { key: 'product', label: 'Product', required: false },
      {
        key: 'use_case',
        label: 'Use Case',
        required: false,
        choices: { observability: 'Observability', security: 'Security', search: 'Search', other: 'Other' },
      },
      {
        key: 'source',
        label: 'Source',
        required: false,
        choices: {
          inbound: 'Inbound',
          outbound: 'Outbound',
          target_abm: 'Target (ABM)',
          referral: 'Referral',
          partner: 'Partner',
        },
      },
      { key: 'approach', label: 'Approach', required: false, choices: { top_down: 'Top-down', bottom_up: 'Bottom-up' } },
      { key: 'expected_close_date', label: 'Expected Close Date', type: 'datetime', required: false },
    ],
    sample: OPPORTUNITY_SAMPLE,
    outputFields: OPPORTUNITY_OUTPUT_FIELDS,
  },
};
