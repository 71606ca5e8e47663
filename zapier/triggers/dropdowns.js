'use strict';

// Hidden triggers that feed dynamic dropdowns: processes, stages of a process, users, accounts.

const { apiUrl, raiseForStatus } = require('../lib/http');

const PAGE_SIZE = 100;

// One page of a DRF page-number list; Zapier's bundle.meta.page counts from 0. Past the last
// page EPOS answers 404 "Invalid page.", which just means "no more".
const listPage = async (z, bundle, path, params = {}) => {
  const page = ((bundle.meta && bundle.meta.page) || 0) + 1;
  const response = await z.request({
    method: 'GET',
    url: apiUrl(bundle, path),
    params: Object.assign({ page, page_size: PAGE_SIZE }, params),
    skipThrowForStatus: page > 1,
  });
  if (page > 1 && response.status === 404) {
    return [];
  }
  raiseForStatus(response, z);
  return (response.data && response.data.results) || [];
};

const stageRecord = (stage, process, prefixProcess) => ({
  id: stage.id,
  name: prefixProcess ? `${process.name} › ${stage.name}` : stage.name,
  stage_name: stage.name,
  kind: stage.kind,
  position: stage.position,
  process_id: process.id,
  process_name: process.name,
});

const processList = async (z, bundle) => {
  const processes = await listPage(z, bundle, '/processes/');
  return processes.map((p) => ({
    id: p.id,
    name: p.version ? `${p.name} (v${p.version})` : p.name,
    process_name: p.name,
    slug: p.slug,
    version: p.version,
    status: p.status,
  }));
};

// Stages of the process chosen in the same action; failing that, of the chosen opportunity's
// process; failing that, of every process ("Process › Stage").
const stageList = async (z, bundle) => {
  if ((bundle.meta && bundle.meta.page) > 0) {
    return []; // every stage comes on the first page
  }
  const input = bundle.inputData || {};
  let processId = input.process || input.process_id;
  if (!processId && (input.opportunity || input.opportunity_id)) {
    const opportunityId = input.opportunity || input.opportunity_id;
    const response = await z.request({ url: apiUrl(bundle, `/opportunities/${encodeURIComponent(opportunityId)}/`) });
    processId = response.data.process;
  }
  if (processId) {
    const response = await z.request({ url: apiUrl(bundle, `/processes/${encodeURIComponent(processId)}/`) });
    const process = response.data;
    return (process.stages || [])
      .slice()
      .sort((a, b) => a.position - b.position)
      .map((stage) => stageRecord(stage, process, false));
  }
  const response = await z.request({ url: apiUrl(bundle, '/processes/'), params: { page_size: 200 } });
  const records = [];
  ((response.data && response.data.results) || []).forEach((process) => {
    (process.stages || [])
      .slice()
      .sort((a, b) => a.position - b.position)
      .forEach((stage) => records.push(stageRecord(stage, process, true)));
  });
  return records;
};

// GET /api/v1/users/ → paginated {id, username, name}.
const userList = async (z, bundle) => {
  const users = await listPage(z, bundle, '/users/');
  return users.map((u) => ({
    id: u.id,
    username: u.username,
    name: u.name || u.full_name || u.username,
    label: u.name && u.name !== u.username ? `${u.name} (${u.username})` : u.username,
  }));
};

const accountList = async (z, bundle) => listPage(z, bundle, '/accounts/');

const hidden = (key, noun, perform, sample) => ({
  key,
  noun,
  display: { label: `${noun} list`, description: `Lists ${noun.toLowerCase()}s for dropdowns.`, hidden: true },
  operation: { type: 'polling', perform, canPaginate: true, sample },
});

const triggers = [
  hidden('process_list', 'Process', processList, {
    id: 1,
    name: 'Classic pre-sales (v1)',
    process_name: 'Classic pre-sales',
    slug: 'classic',
    version: 1,
    status: 'active',
  }),
  hidden('stage_list', 'Stage', stageList, {
    id: 3,
    name: 'Demo',
    stage_name: 'Demo',
    kind: 'open',
    position: 2,
    process_id: 1,
    process_name: 'Classic pre-sales',
  }),
  hidden('user_list', 'User', userList, { id: 7, username: 'alice', name: 'Alice Archer', label: 'Alice Archer (alice)' }),
  hidden('account_list', 'Account', accountList, { id: 5, name: 'Acme Corp' }),
];

module.exports = { triggers, processList, stageList, userList, accountList };
