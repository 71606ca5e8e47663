'use strict';

const { apiUrl, exactFirst } = require('../lib/http');

// GET /api/v1/accounts/?search=<name>
const perform = async (z, bundle) => {
  const name = String(bundle.inputData.name || '').trim();
  if (!name) {
    throw new z.errors.Error('Give an account name to search for.', 'InvalidData', 400);
  }
  const response = await z.request({ method: 'GET', url: apiUrl(bundle, '/accounts/'), params: { search: name } });
  return exactFirst((response.data && response.data.results) || [], 'name', name);
};

module.exports = {
  key: 'find_account',
  noun: 'Account',
  display: { label: 'Find Account', description: 'Finds a customer account by name (exact matches first).' },
  operation: {
    perform,
    inputFields: [{ key: 'name', label: 'Name', required: true }],
    sample: {
      id: 5,
      name: 'Acme Corp',
      industry: 'software',
      segment: 'mid_market',
      customer_type: '',
      ownership: '',
      employees: 1200,
      country: 'DE',
      city: 'Berlin',
      has_own_infrastructure: true,
      business_context: '',
      team: 2,
      created_at: '2025-01-10T08:00:00+00:00',
    },
    outputFields: [
      { key: 'id', label: 'Account ID', type: 'integer' },
      { key: 'name', label: 'Name' },
      { key: 'industry', label: 'Industry' },
      { key: 'segment', label: 'Segment' },
      { key: 'country', label: 'Country' },
      { key: 'city', label: 'City' },
      { key: 'employees', label: 'Employees', type: 'integer' },
      { key: 'team', label: 'Team ID', type: 'integer' },
      { key: 'created_at', label: 'Created At', type: 'datetime' },
    ],
  },
};
