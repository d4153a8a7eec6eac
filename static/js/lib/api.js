// Requests to the JSON API. URLs come from the page's data- attributes.
//
// The API speaks English (its messages are for programs and logs); what a
// person reads on the page comes from `describeError`, in the page's language.

import { t } from './i18n.js';

/**
 * An answer that is not a 2xx: `code` is the API's slug, or `unreachable`; `retryAfter` the seconds a 503's
 * Retry-After asks the client to wait (null without one).
 */
export class ApiError extends Error {
  constructor(message, { code, status = 0, retryAfter = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

async function send(url, options) {
  let response;
  try {
    response = await fetch(url, options);
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError('The server cannot be reached.', { code: 'unreachable' });
  }
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    if (error.name === 'AbortError') throw error;
  }
  if (!response.ok) {
    const detail = body?.error;
    const retryAfter = Number.parseFloat(response.headers.get('Retry-After'));
    throw new ApiError(detail?.message ?? `The server answered ${response.status}.`, {
      code: detail?.code ?? 'server-error',
      status: response.status,
      retryAfter: Number.isFinite(retryAfter) ? retryAfter : null,
    });
  }
  if (body === null) throw new ApiError('The server sent an unreadable answer.', { code: 'bad-answer' });
  return body;
}

/** What went wrong, in the page's language, for a person drawing (not the API's English message). */
export function describeError(error) {
  switch (error.code) {
    case 'unreachable':
      return t('The server cannot be reached.');
    case 'busy':
      return t('The server is busy right now.');
    case 'model-not-ready':
      return t('The network is still loading on the server.');
    case 'payload-too-large':
      return t('The drawing is too large to send.');
    case 'bad-answer':
      return t('The server sent an unreadable answer.');
    case 'internal-error':
      return t('The server failed to answer.');
    default:
      // A code this page has no words for: the API's own (English) message says what happened.
      return t('The server answered: %(message)s', { message: error.message });
  }
}

/** POST a PNG blob to a predict-like endpoint. */
export function postImage(url, blob, signal) {
  return send(url, { method: 'POST', body: blob, headers: { 'Content-Type': 'image/png' }, signal });
}

export function getJson(url, signal) {
  return send(url, { signal });
}
