'use strict';

// Input fields shared by several actions.

const opportunityField = (extra = {}) =>
  Object.assign(
    {
      key: 'opportunity',
      label: 'Opportunity',
      type: 'integer',
      required: true,
      search: 'find_opportunity.id',
      helpText: 'The EPOS opportunity ID (use the "Find Opportunity" search step to look one up).',
    },
    extra,
  );

const OPPORTUNITY_SAMPLE = {
  id: 42,
  name: 'Acme observability',
  account: { id: 5, name: 'Acme Corp' },
  process: 1,
  stage: { id: 3, name: 'Demo', kind: 'open', position: 2 },
  owner: { id: 7, username: 'alice', full_name: 'Alice Archer' },
  account_executive: null,
  team: { id: 2, name: 'Observability EMEA' },
  amount: '25000.00',
  currency: 'USD',
  product: 'APM',
  use_case: 'observability',
  source: 'inbound',
  approach: 'top_down',
  expected_close_date: '2025-06-30',
  created_at: '2025-03-01T09:00:00+00:00',
  engaged_at: '2025-03-01T09:00:00+00:00',
  stage_entered_at: '2025-03-04T10:15:00+00:00',
  closed_at: null,
  outcome: 'open',
  loss_reason: '',
  version: 3,
  updated_at: '2025-03-04T10:15:00+00:00',
};

const OPPORTUNITY_OUTPUT_FIELDS = [
  { key: 'id', label: 'Opportunity ID', type: 'integer' },
  { key: 'name', label: 'Name' },
  { key: 'account__id', label: 'Account ID', type: 'integer' },
  { key: 'account__name', label: 'Account' },
  { key: 'process', label: 'Process ID', type: 'integer' },
  { key: 'stage__id', label: 'Stage ID', type: 'integer' },
  { key: 'stage__name', label: 'Stage' },
  { key: 'stage__kind', label: 'Stage Kind' },
  { key: 'owner__id', label: 'Owner ID', type: 'integer' },
  { key: 'owner__username', label: 'Owner Username' },
  { key: 'owner__full_name', label: 'Owner' },
  { key: 'team__id', label: 'Team ID', type: 'integer' },
  { key: 'team__name', label: 'Team' },
  { key: 'amount', label: 'Amount' },
  { key: 'currency', label: 'Currency' },
  { key: 'product', label: 'Product' },
  { key: 'use_case', label: 'Use Case' },
  { key: 'source', label: 'Source' },
  { key: 'approach', label: 'Approach' },
  { key: 'expected_close_date', label: 'Expected Close Date' },
  { key: 'outcome', label: 'Outcome' },
  { key: 'loss_reason', label: 'Loss Reason' },
  { key: 'version', label: 'Version', type: 'integer' },
  { key: 'created_at', label: 'Created At', type: 'datetime' },
  { key: 'stage_entered_at', label: 'Stage Entered At', type: 'datetime' },
  { key: 'closed_at', label: 'Closed At', type: 'datetime' },
];

module.exports = { opportunityField, OPPORTUNITY_SAMPLE, OPPORTUNITY_OUTPUT_FIELDS };
