// Who is in the room and who is typing, from the live-only events of a
// stream opened with ?live=1 (docs/architecture.md, "Live events"). Each
// visitor and each typing signal comes with a ttl: the page keeps it that
// long unless it is renewed, and drops it then. Nothing here is stored or
// has an event id.

import { sendTyping } from './api.js';

/** How often expired visitors and typing signals are dropped. */
const TICK_MS = 1000;
/** The page sends "typing" at most this often while its user types. */
export const TYPING_EVERY_MS = 3000;
/** Local key of the guest id, kept so that a guest's tabs count once. */
const GUEST_KEY = 'chat-guest-id';

/**
 * The id this browser is counted under when nobody is signed in: random,
 * kept in localStorage (a new one per page when storage is unavailable).
 */
export function guestId() {
  try {
    let id = localStorage.getItem(GUEST_KEY);
    if (!/^[A-Za-z0-9_-]{8,64}$/.test(id ?? '')) {
      id = crypto.randomUUID();
      localStorage.setItem(GUEST_KEY, id);
    }
    return id;
  } catch {
    return crypto.randomUUID();
  }
}

function keyOf(data) {
  if (typeof data?.user === 'string' && data.user !== '') {
    return `u:${data.user}`;
  }
  if (typeof data?.guest === 'string' && data.guest !== '') {
    return `g:${data.guest}`;
  }
  return '';
}

/**
 * The header's count and the panel of names. Calls onLapse when this
 * page's own presence is about to run out without a refresh (a proxy that
 * stopped calling the next link): reopening the stream refreshes it.
 */
export class PresencePanel {
  /**
   * @param {{count: HTMLElement, list: HTMLElement, wrap: HTMLElement}} els
   * @param {{user: string, guest: string, onLapse: () => void}} opts
   */
  constructor({ count, list, wrap }, { user, guest, onLapse }) {
    this.countEl = count;
    this.listEl = list;
    this.wrap = wrap;
    this.self = user ? `u:${user}` : `g:${guest}`;
    this.onLapse = onLapse;
    /** @type {Map<string, number>} key → time (ms, this clock) it expires */
    this.until = new Map();
    this.lapseAsked = 0;
    setInterval(() => this.tick(), TICK_MS);
  }

  /** A presence-list: everyone present when the stream opened. */
  list(data) {
    if (!Array.isArray(data?.members)) {
      return;
    }
    const now = Date.now();
    this.until.clear();
    for (const m of data.members) {
      const key = keyOf(m);
      if (key) {
        this.until.set(key, now + Number(m.ttl) * 1000);
      }
    }
    this.lapseAsked = 0;
    this.render();
  }

  /** A presence event: one visitor, present for ttl more seconds. */
  seen(data) {
    const key = keyOf(data);
    if (!key) {
      return;
    }
    this.until.set(key, Date.now() + Number(data.ttl) * 1000);
    if (key === this.self) {
      this.lapseAsked = 0;
    }
    this.render();
  }

  tick() {
    const now = Date.now();
    let changed = false;
    for (const [key, until] of this.until) {
      if (until <= now) {
        this.until.delete(key);
        changed = true;
      }
    }
    const mine = this.until.get(this.self);
    // Ask once per lapse, a little before the end: the refresh a new hold
    // brings lands in time.
    if (mine && mine - now < 3000 && !this.lapseAsked) {
      this.lapseAsked = now;
      this.onLapse();
    }
    if (changed) {
      this.render();
    }
  }

  render() {
    const users = [];
    let guests = 0;
    for (const key of this.until.keys()) {
      if (key.startsWith('u:')) {
        users.push(key.slice(2));
      } else {
        guests++;
      }
    }
    users.sort((a, b) => a.localeCompare(b));
    const n = users.length + guests;
    this.countEl.textContent = `${n} here`;
    this.countEl.dataset.count = String(n);
    const items = users.map((name) => {
      const li = document.createElement('li');
      li.className = 'presence-user';
      li.textContent = name;
      if (`u:${name}` === this.self) {
        li.classList.add('self');
        li.title = 'you';
      }
      return li;
    });
    if (guests > 0) {
      const li = document.createElement('li');
      li.className = 'presence-guests';
      li.textContent = guests === 1 ? '1 guest' : `${guests} guests`;
      items.push(li);
    }
    this.listEl.replaceChildren(...items);
    this.wrap.hidden = false;
  }
}

/** "ana is typing…" under the messages, from the others' typing events. */
export class TypingLine {
  /**
   * @param {HTMLElement} el
   * @param {string} self the viewer, whose own signals are not shown
   */
  constructor(el, self) {
    this.el = el;
    this.self = self;
    /** @type {Map<string, number>} user → time (ms) the signal expires */
    this.until = new Map();
    setInterval(() => this.tick(), TICK_MS);
  }

  /** A typing event. */
  typing(data) {
    const user = typeof data?.user === 'string' ? data.user : '';
    if (!user || user === this.self) {
      return;
    }
    if (data.typing) {
      this.until.set(user, Date.now() + Number(data.ttl || 6) * 1000);
    } else {
      this.until.delete(user);
    }
    this.render();
  }

  /** A message from user ends their typing. */
  sent(user) {
    if (this.until.delete(user)) {
      this.render();
    }
  }

  tick() {
    const now = Date.now();
    let changed = false;
    for (const [user, until] of this.until) {
      if (until <= now) {
        this.until.delete(user);
        changed = true;
      }
    }
    if (changed) {
      this.render();
    }
  }

  render() {
    const names = [...this.until.keys()].sort((a, b) => a.localeCompare(b));
    let text = '';
    if (names.length === 1) {
      text = `${names[0]} is typing…`;
    } else if (names.length === 2) {
      text = `${names[0]} and ${names[1]} are typing…`;
    } else if (names.length > 2) {
      text = `${names[0]}, ${names[1]} and ${names.length - 2} more are typing…`;
    }
    this.el.textContent = text;
    this.el.hidden = text === '';
  }
}

/**
 * Sends this page's typing signals: "typing" at most every TYPING_EVERY_MS
 * while the text box has text, "stopped" when it is emptied. A failed or
 * refused (429) signal is dropped: typing is a hint, never worth an error.
 */
export class TypingSender {
  /** @param {string} room */
  constructor(room) {
    this.room = room;
    this.last = 0;
  }

  /** @param {string} text what the box holds now */
  input(text) {
    const now = Date.now();
    if (text.trim() === '') {
      if (this.last) {
        this.last = 0;
        sendTyping(this.room, false).catch(() => {});
      }
      return;
    }
    if (now - this.last >= TYPING_EVERY_MS) {
      this.last = now;
      sendTyping(this.room, true).catch(() => {});
    }
  }

  /** The message was sent: the others clear the signal when it arrives. */
  sent() {
    this.last = 0;
  }
}
