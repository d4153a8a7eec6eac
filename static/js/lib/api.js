// Requests to the JSON API. URLs come from the page's data- attributes.

/** An answer that is not a 2xx: `code` is the API's slug, or `unreachable`. */
export class ApiError extends Error {
  constructor(message, { code, status = 0 } = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
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
    throw new ApiError(detail?.message ?? `The server answered ${response.status}.`, {
      code: detail?.code ?? 'server-error',
      status: response.status,
    });
  }
  if (body === null) throw new ApiError('The server sent an unreadable answer.', { code: 'bad-answer' });
  return body;
}

/** POST a PNG blob to a predict-like endpoint. */
export function postImage(url, blob, signal) {
  return send(url, { method: 'POST', body: blob, headers: { 'Content-Type': 'image/png' }, signal });
}

export function getJson(url, signal) {
  return send(url, { signal });
}
