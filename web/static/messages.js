// The list of messages on the page, oldest at the top. Messages are keyed by
// id so nothing shows twice, whichever of the history, the live stream and
// the send answer brings it first. The viewer's own messages show at once as
// "pending" (keyed by clientId) and are replaced when the server confirms.

import { fullTime, relativeTime } from './time.js';

/**
 * @typedef {{id: number, room: string, user: string, text: string, html: string, sentAt: string, clientId?: string}} Message
 */

/** Returns a hue for a user name, so each author keeps one colour. */
function hueOf(name) {
  let h = 7;
  for (const ch of name) {
    h = (Math.imul(h, 31) + ch.codePointAt(0)) >>> 0;
  }
  return (Math.imul(h, 2654435761) >>> 0) % 360;
}

export class MessageList {
  /**
   * @param {HTMLOListElement} list
   * @param {{user: string, onDelete: (id: number) => void}} opts
   */
  constructor(list, { user, onDelete }) {
    this.list = list;
    this.user = user;
    this.onDelete = onDelete;
    /** @type {Map<number, HTMLLIElement>} */
    this.byId = new Map();
    /** @type {Map<string, HTMLLIElement>} */
    this.pending = new Map();
    /** The clientIds of the confirmed messages shown, to their ids. */
    this.clientIds = new Map();
  }

  /** The number of confirmed messages shown. */
  get size() {
    return this.byId.size;
  }

  /** The number of the viewer's messages shown while they are being sent. */
  get pendingCount() {
    return this.pending.size;
  }

  /**
   * Whether the message sent with clientId is shown, confirmed.
   * @param {string} clientId
   */
  hasClientId(clientId) {
    return this.clientIds.has(clientId);
  }

  /** The smallest id shown, or 0. */
  oldestId() {
    let min = 0;
    for (const id of this.byId.keys()) {
      if (min === 0 || id < min) {
        min = id;
      }
    }
    return min;
  }

  /** Removes every confirmed message; pending ones stay. */
  clear() {
    for (const li of this.byId.values()) {
      li.remove();
    }
    this.byId.clear();
    this.clientIds.clear();
  }

  /**
   * Shows a message in id order, replacing its pending copy; does nothing if
   * it is shown already. Returns whether it was new.
   * @param {Message} msg
   */
  add(msg) {
    const pending = msg.clientId ? this.pending.get(msg.clientId) : undefined;
    if (pending) {
      // A retry of a send that did reach the server shows its pending copy
      // while the stored message is on the page already.
      this.pending.delete(msg.clientId);
      pending.remove();
    }
    if (this.byId.has(msg.id)) {
      return false;
    }
    const li = this.render(msg);
    this.insert(li, msg.id);
    this.byId.set(msg.id, li);
    if (msg.clientId) {
      this.clientIds.set(msg.clientId, msg.id);
    }
    return !pending;
  }

  /**
   * Places li among the confirmed messages by id; pending ones stay last.
   * @param {HTMLLIElement} li
   * @param {number} id
   */
  insert(li, id) {
    const oldest = this.oldestId();
    if (oldest && id < oldest) {
      this.list.prepend(li);
      return;
    }
    let node = this.list.lastElementChild;
    while (node && (node.dataset.pending || Number(node.dataset.id) > id)) {
      node = node.previousElementSibling;
    }
    if (node) {
      node.after(li);
    } else {
      this.list.prepend(li);
    }
  }

  /**
   * Shows the viewer's own message at once, before the server confirms it.
   * @param {string} text
   * @param {string} clientId
   */
  addPending(text, clientId) {
    const li = this.render({
      id: 0,
      room: '',
      user: this.user,
      text,
      html: '',
      sentAt: new Date().toISOString(),
      clientId,
    });
    li.dataset.pending = 'true';
    li.classList.add('pending');
    this.list.append(li);
    this.pending.set(clientId, li);
  }

  /**
   * Removes a pending message whose send failed.
   * @param {string} clientId
   */
  dropPending(clientId) {
    this.pending.get(clientId)?.remove();
    this.pending.delete(clientId);
  }

  /**
   * Removes a message; returns whether it was shown.
   * @param {number} id
   */
  remove(id) {
    const li = this.byId.get(id);
    if (!li) {
      return false;
    }
    li.remove();
    this.byId.delete(id);
    for (const [clientId, shown] of this.clientIds) {
      if (shown === id) {
        this.clientIds.delete(clientId);
        break;
      }
    }
    return true;
  }

  /**
   * Marks a message as being deleted (or not).
   * @param {number} id
   * @param {boolean} busy
   */
  setDeleting(id, busy) {
    const li = this.byId.get(id);
    if (li) {
      li.classList.toggle('deleting', busy);
      li.querySelector('.delete')?.toggleAttribute('disabled', busy);
    }
  }

  /** Refreshes every relative timestamp. */
  refreshTimes(now = new Date()) {
    for (const t of this.list.querySelectorAll('time[datetime]')) {
      t.textContent = relativeTime(new Date(t.dateTime), now);
    }
  }

  /**
   * Builds the element of one message. Only msg.html, the server's
   * sanitised rendering, goes in as HTML; everything else is text.
   * @param {Message} msg
   * @returns {HTMLLIElement}
   */
  render(msg) {
    const own = this.user !== '' && msg.user === this.user;
    const sent = new Date(msg.sentAt);

    const li = document.createElement('li');
    li.className = own ? 'msg own' : 'msg';
    if (msg.id) {
      li.dataset.id = String(msg.id);
    }

    const avatar = document.createElement('span');
    avatar.className = 'avatar';
    avatar.setAttribute('aria-hidden', 'true');
    avatar.textContent = (msg.user.trim()[0] || '?').toUpperCase();
    avatar.style.setProperty('--hue', String(hueOf(msg.user)));

    const bubble = document.createElement('div');
    bubble.className = 'bubble';

    const meta = document.createElement('p');
    meta.className = 'meta';
    const author = document.createElement('span');
    author.className = 'author';
    author.textContent = msg.user;
    const time = document.createElement('time');
    time.dateTime = sent.toISOString();
    time.title = fullTime(sent);
    time.textContent = relativeTime(sent);
    meta.append(author, ' ', time);

    const body = document.createElement('div');
    body.className = 'body';
    if (msg.html) {
      body.innerHTML = msg.html;
    } else {
      body.textContent = msg.text;
    }
    bubble.append(meta, body);

    if (msg.id === 0) {
      const state = document.createElement('span');
      state.className = 'sending';
      state.textContent = 'Sending…';
      meta.append(' ', state);
    } else if (own) {
      const del = document.createElement('button');
      del.type = 'button';
      del.className = 'delete';
      del.textContent = 'Delete';
      del.setAttribute('aria-label', `Delete your message sent ${relativeTime(sent)}`);
      del.addEventListener('click', () => this.onDelete(msg.id));
      bubble.append(del);
    }
    li.append(avatar, bubble);
    return li;
  }
}
