'use strict';

const { apiUrl, baseUrl } = require('./lib/http');

// GET /api/v1/me/ → {id, username, name, email, roles: [...]}
const test = async (z, bundle) => {
  const response = await z.request({ method: 'GET', url: apiUrl(bundle, '/me/') });
  const me = response.data;
  if (!me || me.id === undefined) {
    throw new z.errors.Error(
      `${baseUrl(bundle)} did not answer like EPOS does (no user at /api/v1/me/): check the EPOS URL.`,
      'AuthenticationError',
      response.status,
    );
  }
  return me;
};

const connectionLabel = (z, bundle) => {
  const me = bundle.inputData || {};
  const who = me.name && me.name !== me.username ? `${me.name} (${me.username})` : me.username || me.email || '';
  let host = '';
  try {
    host = new URL(baseUrl(bundle)).host;
  } catch (err) {
    host = '';
  }
  return host ? `${who} @ ${host}` : who;
};

module.exports = {
  type: 'custom',
  fields: [
    {
      key: 'base_url',
      label: 'EPOS URL',
      type: 'string',
      required: true,
      helpText: 'The address of your EPOS, e.g. `https://epos.example.com`.',
    },
    {
      key: 'api_key',
      label: 'API Key',
      type: 'password',
      required: true,
      helpText: 'A personal API key: create one on your EPOS profile page (or ask an admin to run `manage.py create_api_key <username>`).',
    },
  ],
  test,
  connectionLabel,
};
