// The HTTP API of the chat (docs/architecture.md), called from the page's
// own origin. The edge adds the user and API key headers; the page sends
// neither.

/** An API call that failed; message is fit to show the user. */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {number} status HTTP status, 0 for a network failure
   * @param {unknown} [cause]
   */
  constructor(message, status, cause) {
    super(message, { cause });
    this.name = 'ApiError';
    this.status = status;
    /** Seconds the server asked to wait before a retry (Retry-After), or null. */
    this.retryAfter = null;
  }
}

/**
 * Sends one request and returns its JSON answer (null for 204).
 * @param {string} method
 * @param {string} url
 * @param {object} [body]
 */
async function request(method, url, body) {
  const init = {
    method,
    headers: { Accept: 'application/json' },
    credentials: 'same-origin',
    cache: 'no-store',
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new ApiError('Could not reach the chat. Check your connection and try again.', 0, err);
  }
  if (res.status === 204) {
    return null;
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    // Not JSON (for example a proxy's error page); the status says enough.
  }
  if (!res.ok) {
    const reason = data && typeof data.error === 'string' && data.error ? data.error : `The server answered ${res.status}`;
    const err = new ApiError(sentence(reason), res.status);
    const after = res.headers.get('Retry-After');
    if (after !== null && /^\d+$/.test(after.trim())) {
      err.retryAfter = Number(after);
    }
    throw err;
  }
  return data;
}

/** Capitalises s and ends it with a full stop. */
function sentence(s) {
  const t = s.trim();
  const capital = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

function roomPath(room) {
  return `/room/${encodeURIComponent(room)}`;
}

/**
 * Fetches one page of a room's messages, newest first. Without before it is
 * the newest page, which also carries the lastEventId to stream from.
 * @param {string} room
 * @param {number} [before] only messages with a smaller id
 * @returns {Promise<{messages: object[], more: boolean, before: number|null, lastEventId?: number}>}
 */
export function fetchMessages(room, before) {
  const q = before ? `?before=${encodeURIComponent(before)}` : '';
  return request('GET', `${roomPath(room)}/messages${q}`);
}

/**
 * Sends a message. A repeated clientId returns the first message instead of
 * storing a second one, so a retry never duplicates; a "busy" answer (503
 * with Retry-After) is resent transparently, a few times.
 * @param {string} room
 * @param {string} text
 * @param {string} clientId
 */
export async function sendMessage(room, text, clientId) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request('POST', `${roomPath(room)}/messages`, { text, clientId });
    } catch (err) {
      if (!isBusy(err) || attempt > BUSY_RETRIES) {
        throw err;
      }
      await delay(busyPause(err.retryAfter));
    }
  }
}

/**
 * How many times a send the server answered "busy" is resent before the
 * page shows the error: about ten seconds of resends with Retry-After: 1.
 */
const BUSY_RETRIES = 8;

/**
 * Reports whether err is the server's "busy, resend" answer: 503 with
 * Retry-After, which the send function gives when the room's next id stayed
 * contended. Resending with the same clientId is safe (the server stores a
 * clientId once), so the page does it without telling the user. A 503
 * without Retry-After (a proxy failing) is shown instead.
 * @param {unknown} err
 */
function isBusy(err) {
  return err instanceof ApiError && err.status === 503 && err.retryAfter !== null;
}

/**
 * The wait before a resend: what the server asked, stretched by a random
 * half again, so writers that collided do not come back together.
 * @param {number} seconds
 */
function busyPause(seconds) {
  const ms = Math.max(seconds, 0.25) * 1000;
  return ms + Math.random() * ms * 0.5;
}

/** @param {number} ms */
function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Edits one of the viewer's own messages; returns the message as edited. A
 * repeated clientId changes nothing, so a retry is safe.
 * @param {string} room
 * @param {number} id
 * @param {string} text
 * @param {string} clientId
 */
export function editMessage(room, id, text, clientId) {
  return request('PATCH', `${roomPath(room)}/messages/${encodeURIComponent(id)}`, { text, clientId });
}

/**
 * Sets whether the viewer reacts to a message with emoji; returns
 * {id, room, user, emoji, on, changed}. Setting what is already so changes
 * nothing.
 * @param {string} room
 * @param {number} id
 * @param {string} emoji
 * @param {boolean} on
 */
export function reactToMessage(room, id, emoji, on) {
  return request('PUT', `${roomPath(room)}/messages/${encodeURIComponent(id)}/reactions`, { emoji, on });
}

/**
 * Deletes one of the viewer's own messages.
 * @param {string} room
 * @param {number} id
 */
export function deleteMessage(room, id) {
  return request('DELETE', `${roomPath(room)}/messages/${encodeURIComponent(id)}`);
}

/**
 * The URL of a room's event stream, resuming after lastEventId.
 * @param {string} room
 * @param {number} lastEventId
 */
export function eventsURL(room, lastEventId) {
  return `${roomPath(room)}/events?lastEventId=${encodeURIComponent(lastEventId)}`;
}

/**
 * Tells the room that the viewer is typing (or stopped). Stored nowhere.
 * @param {string} room
 * @param {boolean} typing
 */
export function sendTyping(room, typing) {
  return request('POST', `${roomPath(room)}/typing`, { typing });
}

/**
 * Fetches the rooms of the chat and the default room's slug.
 * @returns {Promise<{rooms: {slug: string, name: string}[], default: string}>}
 */
export function fetchRooms() {
  return request('GET', '/rooms');
}
