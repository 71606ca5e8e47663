'use strict';

const authentication = require('./authentication');
const { addApiKey, handleErrors } = require('./lib/http');
const hooks = require('./triggers/hooks');
const dropdowns = require('./triggers/dropdowns');
const createOpportunity = require('./creates/opportunity');
const moveOpportunity = require('./creates/move');
const createActivity = require('./creates/activity');
const createEsatResponse = require('./creates/esat');
const findOpportunity = require('./searches/opportunity');
const findAccount = require('./searches/account');

const byKey = (items) =>
  items.reduce((all, item) => {
    all[item.key] = item;
    return all;
  }, {});

module.exports = {
  version: require('./package.json').version,
  platformVersion: require('zapier-platform-core').version,

  authentication,
  beforeRequest: [addApiKey],
  afterResponse: [handleErrors],

  triggers: byKey([...hooks.triggers, ...dropdowns.triggers]),
  creates: byKey([createOpportunity, moveOpportunity, createActivity, createEsatResponse]),
  searches: byKey([findOpportunity, findAccount]),
  searchOrCreates: {
    find_opportunity: {
      key: 'find_opportunity',
      display: {
        label: 'Find or Create Opportunity',
        description: 'Finds an opportunity by name or external ID, and creates it when none matches.',
      },
      search: 'find_opportunity',
      create: 'create_opportunity',
    },
  },
};
