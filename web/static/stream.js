// The live event stream of a room over EventSource, kept open for good.
//
// While a connection drops and comes back, the browser itself resends the id
// of the last event it saw (Last-Event-ID), so the server replays what was
// missed, after the server's own jittered `retry:` wait. When the browser
// gives up instead (an error answer such as a 502 from a proxy), a new
// EventSource is opened after a jittered, doubling back-off, resuming from
// the last id seen via ?lastEventId=.

import { eventsURL } from './api.js';

/** The event types of docs/architecture.md. */
export const EVENT_TYPES = ['message', 'delete', 'refresh', 'stream-reset', 'edit', 'reaction'];

/** The live-only event types (no id), sent to streams opened with live=1. */
export const LIVE_TYPES = ['presence-list', 'presence', 'typing'];

const MIN_RETRY_MS = 1000;
const MAX_RETRY_MS = 15000;

/**
 * A random wait between half of ms and ms ("equal jitter"): when a proxy
 * restart drops every listener at once, their reconnects spread over the
 * window instead of arriving together, and each is still bounded.
 * @param {number} ms
 */
export function jittered(ms) {
  return ms / 2 + Math.random() * (ms / 2);
}

/**
 * @typedef {'connecting'|'live'|'reconnecting'} StreamState
 * @typedef {{type: string, id: number, data: any}} RoomEvent
 */

export class RoomStream {
  /**
   * @param {string} room
   * @param {{onEvent: (ev: RoomEvent) => void, onState: (s: StreamState) => void,
   *   onLive?: (ev: {type: string, data: any}) => void, live?: string}} handlers
   *   with onLive, the stream asks for the live events (live=1 and the
   *   extra query parameters in live)
   */
  constructor(room, { onEvent, onState, onLive, live }) {
    this.room = room;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onLive = onLive;
    this.liveQuery = onLive ? `&live=1${live ? `&${live}` : ''}` : '';
    this.lastId = 0;
    this.source = null;
    this.retryMs = MIN_RETRY_MS;
    this.timer = 0;
  }

  /**
   * Opens the stream after event lastEventId.
   * @param {number} lastEventId
   */
  start(lastEventId) {
    this.lastId = lastEventId;
    this.onState('connecting');
    this.open();
  }

  /** Closes the stream for good. */
  stop() {
    clearTimeout(this.timer);
    this.source?.close();
    this.source = null;
  }

  /**
   * Closes an open connection and opens a new one from the last id seen: a
   * new hold, which also refreshes this page's presence. A stream that is
   * reconnecting already is left to its own back-off.
   */
  reopen() {
    if (this.source?.readyState !== EventSource.OPEN) {
      return;
    }
    clearTimeout(this.timer);
    this.source.close();
    this.open();
  }

  open() {
    const es = new EventSource(eventsURL(this.room, this.lastId) + this.liveQuery);
    this.source = es;
    es.addEventListener('open', () => {
      this.retryMs = MIN_RETRY_MS;
      this.onState('live');
    });
    es.addEventListener('error', () => {
      if (es.readyState === EventSource.CLOSED) {
        es.close();
        this.onState('reconnecting');
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.open(), jittered(this.retryMs));
        this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
      } else {
        // The browser reconnects by itself, sending Last-Event-ID.
        this.onState('reconnecting');
      }
    });
    for (const type of EVENT_TYPES) {
      es.addEventListener(type, (e) => this.dispatch(type, e));
    }
    if (this.onLive) {
      for (const type of LIVE_TYPES) {
        es.addEventListener(type, (e) => this.dispatchLive(type, e));
      }
    }
  }

  /**
   * A live-only event: no id, so none of the id bookkeeping (its
   * lastEventId is only the last id the browser saw before it).
   * @param {string} type
   * @param {MessageEvent} e
   */
  dispatchLive(type, e) {
    let data;
    try {
      data = JSON.parse(e.data);
    } catch {
      return;
    }
    this.onLive({ type, data });
  }

  /**
   * @param {string} type
   * @param {MessageEvent} e
   */
  dispatch(type, e) {
    const id = Number(e.lastEventId) || 0;
    if (type === 'stream-reset') {
      // The page must reload history and follow from the reset's id,
      // whatever it is: when the room's ids went back (its data was wiped)
      // it is lower than anything seen, even 0, and the events after it
      // (1, 2, …) are new, not replays.
      this.lastId = id;
    } else if (id) {
      if (id <= this.lastId) {
        // Already seen (a replay overlapping what was delivered live).
        return;
      }
      this.lastId = id;
    }
    let data;
    try {
      data = JSON.parse(e.data);
    } catch {
      return;
    }
    this.onEvent({ type, id, data });
  }
}
