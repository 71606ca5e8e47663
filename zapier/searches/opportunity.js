'use strict';

const { apiUrl, exactFirst } = require('../lib/http');
const { OPPORTUNITY_SAMPLE, OPPORTUNITY_OUTPUT_FIELDS } = require('../creates/fields');

// GET /api/v1/opportunities/?external_id=<id>   (an ID another system gave the deal), or
// GET /api/v1/opportunities/?search=<name>       (name or account name contains it; exact names first)
const perform = async (z, bundle) => {
  const externalId = String(bundle.inputData.external_id || '').trim();
  const name = String(bundle.inputData.name || '').trim();
  let params;
  if (externalId) {
    params = { external_id: externalId };
  } else if (name) {
    params = { search: name };
  } else {
    throw new z.errors.Error('Give an opportunity name or an external ID to search for.', 'InvalidData', 400);
  }
  const response = await z.request({ method: 'GET', url: apiUrl(bundle, '/opportunities/'), params });
  const results = (response.data && response.data.results) || [];
  return externalId ? results : exactFirst(results, 'name', name);
};

module.exports = {
  key: 'find_opportunity',
  noun: 'Opportunity',
  display: {
    label: 'Find Opportunity',
    description: 'Finds an opportunity by name, or by the ID another system (CRM, Vivun) gave it.',
  },
  operation: {
    perform,
    inputFields: [
      { key: 'name', label: 'Name', required: false, helpText: 'Matches opportunity or account names containing it; exact matches first.' },
      { key: 'external_id', label: 'External ID', required: false, helpText: 'Takes precedence over the name when given.' },
    ],
    sample: OPPORTUNITY_SAMPLE,
    outputFields: OPPORTUNITY_OUTPUT_FIELDS,
  },
};
