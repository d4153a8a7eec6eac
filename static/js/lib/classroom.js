// The classroom's requests and what this browser remembers: a student's delete tokens, a teacher's token.
//
// Tokens live in localStorage under the class code, on this device only; the
// teacher's arrives in the link's #fragment, which browsers never send to a server.

import { ApiError } from './api.js';

async function send(url, { method = 'GET', token = null, body = null, type = null } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (type) headers['Content-Type'] = type;
  let response;
  try {
    response = await fetch(url, { method, headers, body, cache: 'no-store' });
  } catch (error) {
    throw new ApiError('The server cannot be reached.', { code: 'unreachable' });
  }
  if (response.status === 204) return null;
  if (!response.ok) {
    let detail = null;
    try {
      detail = (await response.json()).error;
    } catch (error) {
      detail = null;
    }
    throw new ApiError(detail?.message ?? `The server answered ${response.status}.`, {
      code: detail?.code ?? 'server-error',
      status: response.status,
    });
  }
  return (response.headers.get('Content-Type') || '').startsWith('application/json') ? response.json() : response.blob();
}

export const request = send;

/** The delete tokens this browser holds for a class: [{id, token, label, pixels, readings}], newest first. */
export function myDrawings(code) {
  try {
    return JSON.parse(localStorage.getItem(`classroom:${code}:drawings`) || '[]');
  } catch (error) {
    return [];
  }
}

export function saveMyDrawings(code, drawings) {
  localStorage.setItem(`classroom:${code}:drawings`, JSON.stringify(drawings));
}

/** The teacher token: from the link's fragment (#teacher=...), remembered for this class on this device. */
export function teacherToken(code) {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const given = fragment.get('teacher');
  if (given) {
    localStorage.setItem(`classroom:${code}:teacher`, given);
    return given;
  }
  return localStorage.getItem(`classroom:${code}:teacher`);
}

export function forgetClass(code) {
  localStorage.removeItem(`classroom:${code}:teacher`);
  localStorage.removeItem(`classroom:${code}:drawings`);
}

/** A URL with CODE (a placeholder in the template's data- attribute) replaced by the class code. */
export function withCode(template, code) {
  return template.replace('CODE', encodeURIComponent(code));
}
