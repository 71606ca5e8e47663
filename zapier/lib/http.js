'use strict';

// Shared HTTP helpers: the EPOS base URL, the auth header, and turning EPOS's error answers
// ({detail}, {field: [messages]}, 409 {detail, unmet_items}) into errors a Zapier user can act on.

const API_PREFIX = '/api/v1';

// "epos.example.com", "https://epos.example.com/", "https://epos.example.com/api/v1/" all mean
// the same EPOS; keep scheme + host (+ any path prefix EPOS is mounted under).
const baseUrl = (bundle) => {
  let url = String((bundle.authData && bundle.authData.base_url) || '').trim();
  if (!url) {
    throw new Error('The EPOS URL is missing: reconnect your EPOS account and fill in "EPOS URL".');
  }
  if (!/^https?:\/\//i.test(url)) {
    url = `https://${url}`;
  }
  url = url.replace(/\/+$/, '');
  url = url.replace(/\/api\/v1$/i, '');
  return url;
};

const apiUrl = (bundle, path) => `${baseUrl(bundle)}${API_PREFIX}${path}`;

// beforeRequest: every call carries the personal API key.
const addApiKey = (request, z, bundle) => {
  request.headers = request.headers || {};
  const key = bundle.authData && bundle.authData.api_key;
  if (key && !request.headers.Authorization) {
    request.headers.Authorization = `Token ${String(key).trim()}`;
  }
  if (!request.headers.Accept) {
    request.headers.Accept = 'application/json';
  }
  return request;
};

const parseBody = (response) => {
  if (response.data !== undefined && response.data !== null) {
    return response.data;
  }
  try {
    return JSON.parse(response.content);
  } catch (err) {
    return null;
  }
};

// EPOS answers {detail: "..."} for domain errors and {field: ["msg", ...]} for invalid input.
const describeBody = (body, fallback) => {
  if (!body || typeof body !== 'object') {
    return fallback;
  }
  if (typeof body.detail === 'string' && body.detail) {
    return body.detail;
  }
  const parts = [];
  Object.keys(body).forEach((field) => {
    const value = body[field];
    const text = Array.isArray(value)
      ? value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(' ')
      : typeof value === 'string'
        ? value
        : JSON.stringify(value);
    parts.push(field === 'non_field_errors' || field === 'detail' ? text : `${field}: ${text}`);
  });
  return parts.length ? parts.join('; ') : fallback;
};

// afterResponse: runs before Zapier's own throwForStatus, so the user sees EPOS's message.
const handleErrors = (response, z) => {
  if (response.status < 400 || response.skipThrowForStatus) {
    return response;
  }
  const status = response.status;
  const body = parseBody(response);
  const text = typeof response.content === 'string' ? response.content.trim() : '';
  // An HTML page (a proxy, or a URL that is not EPOS's API) says nothing useful verbatim.
  const content = /^</.test(text) ? `HTTP ${status}, not an EPOS API answer: check the EPOS URL` : text.slice(0, 200);
  const detail = describeBody(body, content || `HTTP ${status}`);

  if (status === 401) {
    throw new z.errors.Error(
      `EPOS rejected the API key (${detail}). Create a new key on your EPOS profile page ` +
        'and reconnect the account in Zapier.',
      'AuthenticationError',
      status,
    );
  }
  if (status === 403) {
    throw new z.errors.Error(
      `EPOS refused this request for your account (403): ${detail}`,
      'PermissionDenied',
      status,
    );
  }
  if (status === 409) {
    const unmet = (body && Array.isArray(body.unmet_items) ? body.unmet_items : [])
      .map((item) => item && item.title)
      .filter(Boolean);
    let message = `EPOS refused the change (409): ${detail}`;
    if (unmet.length) {
      message += ` Unmet required items: ${unmet.join('; ')}.`;
    }
    if (body && body.current_version !== undefined) {
      message += ` Current version: ${body.current_version}.`;
    }
    throw new z.errors.Error(message, 'Conflict', status);
  }
  if (status === 404) {
    throw new z.errors.Error(
      `EPOS has no such object, or you may not see it (404): ${detail} [${response.request.method} ${response.request.url}]`,
      'NotFound',
      status,
    );
  }
  if (status === 429) {
    const retryAfter = parseInt(response.getHeader('retry-after'), 10);
    throw new z.errors.ThrottledError(
      `EPOS is rate limiting requests: ${detail}`,
      Number.isFinite(retryAfter) ? retryAfter : 60,
    );
  }
  if (status < 500) {
    throw new z.errors.Error(`EPOS rejected the request (${status}): ${detail}`, 'InvalidData', status);
  }
  return response; // 5xx: Zapier's throwForStatus reports it (and Zapier may retry).
};

// For a request made with skipThrowForStatus: raise as the middleware would have.
const raiseForStatus = (response, z) => {
  if (response.status >= 400) {
    response.skipThrowForStatus = false;
    handleErrors(response, z);
    response.throwForStatus();
  }
  return response;
};

// Drop keys Zapier left empty so EPOS applies its own defaults.
const compact = (values) => {
  const out = {};
  Object.keys(values).forEach((key) => {
    const value = values[key];
    if (value !== undefined && value !== null && value !== '') {
      out[key] = value;
    }
  });
  return out;
};

// A Zapier date/datetime field to an EPOS date (YYYY-MM-DD), keeping the day the user chose.
const toDate = (value) => {
  if (value === undefined || value === null || value === '') {
    return undefined;
  }
  const text = String(value).trim();
  const match = /^(\d{4}-\d{2}-\d{2})/.exec(text);
  if (match) {
    return match[1];
  }
  const parsed = new Date(text);
  if (Number.isNaN(parsed.getTime())) {
    return text; // let EPOS explain what it expects
  }
  return parsed.toISOString().slice(0, 10);
};

const toInt = (value) => {
  if (value === undefined || value === null || value === '') {
    return undefined;
  }
  const number = Number(value);
  return Number.isInteger(number) ? number : value;
};

const toBool = (value) => {
  if (typeof value === 'boolean') {
    return value;
  }
  if (value === undefined || value === null || value === '') {
    return undefined;
  }
  return ['true', 'yes', '1', 'on'].includes(String(value).trim().toLowerCase());
};

// Sort records so an exact (case-insensitive) match on `field` comes first.
const exactFirst = (records, field, wanted) => {
  const target = String(wanted || '').trim().toLowerCase();
  if (!target) {
    return records;
  }
  const exact = records.filter((r) => String(r[field] || '').trim().toLowerCase() === target);
  const rest = records.filter((r) => String(r[field] || '').trim().toLowerCase() !== target);
  return exact.concat(rest);
};

module.exports = {
  API_PREFIX,
  addApiKey,
  apiUrl,
  baseUrl,
  compact,
  describeBody,
  exactFirst,
  handleErrors,
  parseBody,
  raiseForStatus,
  toBool,
  toDate,
  toInt,
};
