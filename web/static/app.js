// The room page: history, live updates, sending and deleting. The server
// renders the page shell with the room and the viewer (meta tags); this
// module does the rest. No inline script: the CSP forbids it.

import { ApiError, deleteMessage, editMessage, fetchMessages, fetchRooms, reactToMessage, sendMessage } from './api.js';
import { MessageList } from './messages.js';
import { RoomStream } from './stream.js';
import { Unread } from './unread.js';
import { PresencePanel, TypingLine, TypingSender, guestId } from './presence.js';

/** Distance from the bottom (px) that still counts as "at the bottom". */
const BOTTOM_SLACK = 48;
/** How often relative timestamps are refreshed. */
const TIME_REFRESH_MS = 5000;
/** The counter shows once this few characters are left. */
const COUNTER_FROM_LEFT = 100;
/** The server's limit on a message, if the page does not say. */
const DEFAULT_MAX_LEN = 500;

function meta(name) {
  return document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
}

function byId(id) {
  return document.getElementById(id);
}

/**
 * The length of a message as the server counts it: characters (code
 * points, not UTF-16 units) of the trimmed text.
 * @param {string} text
 */
function textLength(text) {
  return [...text.trim()].length;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const STATE_LABELS = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
};

class RoomPage {
  constructor() {
    this.room = meta('chat-room');
    this.user = meta('chat-user');
    this.log = byId('log');
    this.status = byId('status');
    this.loadMoreButton = byId('load-more');
    this.empty = byId('log-empty');
    this.toBottom = byId('to-bottom');
    this.toBottomLabel = byId('to-bottom-label');
    this.pageError = byId('page-error');
    this.form = byId('composer');
    this.input = byId('input');
    this.counter = byId('counter');
    this.sendButton = byId('send');
    this.maxLen = Number(this.input?.dataset.maxLength) || DEFAULT_MAX_LEN;
    this.sendError = byId('send-error');
    this.confirm = byId('confirm-delete');
    /** @type {number|null} the message the delete dialog asks about */
    this.deleteTarget = null;
    // The choice is read from the form's submit, which fires within the
    // click itself. The dialog's close event is a task of its own: after a
    // quick Cancel and a new Delete it can arrive once the dialog is open
    // again, and would be taken for the answer to the new question.
    this.confirm.querySelector('form')?.addEventListener('submit', (e) => {
      const id = this.deleteTarget;
      this.deleteTarget = null;
      if (id !== null && e.submitter instanceof HTMLButtonElement && e.submitter.value === 'delete') {
        this.remove(id);
      }
    });
    this.messagesEl = byId('messages');
    this.roomsList = byId('rooms-list');

    this.list = new MessageList(this.messagesEl, {
      user: this.user,
      onDelete: (id) => this.askDelete(id),
      onEdit: (id, text) => this.edit(id, text),
      onReact: (id, emoji, on) => this.react(id, emoji, on),
    });
    // Unread: the title counts what arrives while the tab is hidden.
    this.unread = new Unread({ list: this.messagesEl, user: this.user, element: (id) => this.list.element(id) });
    // Presence and typing: live-only events, on the same stream.
    const guest = this.user ? '' : guestId();
    this.presence = new PresencePanel({
      count: byId('presence-count'), list: byId('presence-list'), wrap: byId('presence'),
    }, { user: this.user, guest, onLapse: () => this.stream.reopen() });
    this.typingLine = new TypingLine(byId('typing'), this.user);
    this.typingSender = this.user ? new TypingSender(this.room) : null;
    this.stream = new RoomStream(this.room, {
      onEvent: (ev) => this.onEvent(ev),
      onState: (s) => this.setState(s),
      onLive: (ev) => this.onLive(ev),
      live: guest ? `guest=${encodeURIComponent(guest)}` : '',
    });
    /** Events that arrive while the history reloads, applied after it. */
    this.queue = null;
    /** Whether the history must be loaded again once the reload ends. */
    this.reloadAgain = false;
    /**
     * The cursor of "Load earlier messages": the smallest id of the last
     * history page (its before field), 0 when there is nothing older. It
     * comes from the server, not from the messages shown, which live
     * deletes may have removed.
     */
    this.before = 0;
    /** The text and clientId of the last send that failed, for a retry. */
    this.retry = null;
  }

  async start() {
    this.bindScrolling();
    this.bindComposer();
    this.bindKeyboard();
    this.unread.start();
    this.loadMoreButton.addEventListener('click', () => this.loadMore());
    setInterval(() => this.list.refreshTimes(), TIME_REFRESH_MS);
    this.loadRooms();
    const lastEventId = await this.loadNewest();
    this.stream.start(lastEventId);
  }

  // --- history ---------------------------------------------------------

  /**
   * Replaces the shown messages with the newest page, retrying until it
   * loads, and returns the event id to stream from.
   */
  async loadNewest() {
    for (let wait = 1000; ; wait = Math.min(wait * 2, 15000)) {
      try {
        const page = await fetchMessages(this.room);
        this.messagesEl.setAttribute('aria-busy', 'true');
        this.list.clear();
        for (const msg of page.messages) {
          this.list.add(msg);
        }
        this.messagesEl.setAttribute('aria-busy', 'false');
        this.before = Number(page.before) || 0;
        this.setMore(page.more);
        if (this.retry && this.list.hasClientId(this.retry.clientId)) {
          this.confirmSent(this.retry.clientId);
        }
        this.showPageError('');
        this.scrollToBottom();
        return Number(page.lastEventId) || 0;
      } catch (err) {
        this.showPageError(`Could not load messages. ${errorText(err)} Retrying…`);
        await sleep(wait);
      }
    }
  }

  /** Prepends the next older page, keeping the view where it was. */
  async loadMore() {
    const before = this.before;
    if (!before) {
      this.setMore(false);
      return;
    }
    this.loadMoreButton.disabled = true;
    try {
      const page = await fetchMessages(this.room, before);
      if (this.before !== before) {
        return; // the history was reloaded meanwhile (refresh, stream-reset)
      }
      const height = this.log.scrollHeight;
      const top = this.log.scrollTop;
      for (const msg of page.messages) {
        this.list.add(msg);
      }
      this.log.scrollTop = top + (this.log.scrollHeight - height);
      this.before = Number(page.before) || 0;
      this.setMore(page.more && this.before > 0);
      this.showPageError('');
    } catch (err) {
      this.showPageError(`Could not load earlier messages. ${errorText(err)}`);
    } finally {
      this.loadMoreButton.disabled = false;
      if (this.loadMoreButton.hidden) {
        this.log.focus();
      }
    }
  }

  setMore(more) {
    this.loadMoreButton.hidden = !more;
    this.updateEmpty();
  }

  /** Says "No messages yet" when nothing is shown and nothing is older. */
  updateEmpty() {
    this.empty.hidden = this.list.size > 0 || this.list.pendingCount > 0 || !this.loadMoreButton.hidden;
  }

  // --- room switcher -------------------------------------------------

  /**
   * Rebuilds the room switcher from GET /rooms. The server-rendered list
   * stays as it is if the call fails or answers something unexpected, so
   * the switcher works without it (and without JavaScript).
   */
  async loadRooms() {
    if (!this.roomsList) {
      return;
    }
    let answer;
    try {
      answer = await fetchRooms();
    } catch {
      return; // keep the server-rendered list
    }
    const rooms = Array.isArray(answer?.rooms) ? answer.rooms.filter(
      (r) => r && typeof r.slug === 'string' && r.slug !== '' && typeof r.name === 'string',
    ) : [];
    if (rooms.length === 0) {
      return;
    }
    const items = rooms.map(({ slug, name }) => {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = `/room/${encodeURIComponent(slug)}`;
      a.textContent = name || slug;
      if (slug === this.room) {
        a.setAttribute('aria-current', 'page');
      }
      li.append(a);
      return li;
    });
    this.roomsList.replaceChildren(...items);
    this.roomsList.dataset.source = 'api';
  }

  // --- live events -----------------------------------------------------

  onEvent(ev) {
    if (this.queue) {
      if (ev.type === 'refresh' || ev.type === 'stream-reset') {
        // The page being loaded may predate it: load again, and forget the
        // events queued so far, which that load covers (after a
        // stream-reset their ids may even belong to the room's old run).
        this.reloadAgain = true;
        this.queue = [];
        return;
      }
      this.queue.push(ev);
      return;
    }
    this.apply(ev);
  }

  /** A live-only event: who is here, who is typing. */
  onLive(ev) {
    switch (ev.type) {
      case 'presence-list':
        this.presence.list(ev.data);
        break;
      case 'presence':
        this.presence.seen(ev.data);
        break;
      case 'typing':
        this.typingLine.typing(ev.data);
        break;
      default:
    }
  }

  apply(ev) {
    switch (ev.type) {
      case 'message': {
        const atBottom = this.atBottom();
        if (this.list.add(ev.data)) {
          this.unread.arrived(ev.data);
          if (atBottom) {
            this.scrollToBottom();
          } else {
            this.showToBottom('New messages');
          }
        }
        this.confirmSent(ev.data.clientId);
        this.updateEmpty();
        this.typingLine.sent(ev.data.user);
        break;
      }
      case 'delete':
        this.list.remove(Number(ev.data.id));
        this.updateEmpty();
        break;
      case 'edit':
        this.list.update(ev.data);
        break;
      case 'reaction':
        this.list.react(ev.data);
        break;
      case 'refresh':
      case 'stream-reset':
        this.reload();
        break;
      default:
    }
  }

  /**
   * Reloads the history (after an admin clear or a stream gap). Events that
   * arrive meanwhile wait; those newer than the reloaded page apply after it.
   */
  async reload() {
    if (this.queue) {
      return;
    }
    this.queue = [];
    let last;
    do {
      this.reloadAgain = false;
      last = await this.loadNewest();
    } while (this.reloadAgain);
    const queued = this.queue;
    this.queue = null;
    for (const ev of queued) {
      if (ev.id > last) {
        this.apply(ev);
      }
    }
  }

  setState(state) {
    this.status.dataset.state = state;
    this.status.textContent = STATE_LABELS[state] ?? state;
  }

  // --- scrolling -------------------------------------------------------

  atBottom() {
    const { scrollHeight, scrollTop, clientHeight } = this.log;
    return scrollHeight - scrollTop - clientHeight <= BOTTOM_SLACK;
  }

  scrollToBottom() {
    this.log.scrollTop = this.log.scrollHeight;
    this.toBottom.hidden = true;
  }

  showToBottom(label) {
    this.toBottomLabel.textContent = label;
    this.toBottom.hidden = false;
  }

  bindScrolling() {
    this.log.addEventListener('scroll', () => {
      if (this.atBottom()) {
        this.toBottom.hidden = true;
      } else if (this.toBottom.hidden) {
        this.showToBottom('Jump to newest');
      }
    }, { passive: true });
    this.toBottom.addEventListener('click', () => {
      this.scrollToBottom();
      (this.input ?? this.log).focus();
    });
  }

  // --- sending ---------------------------------------------------------

  bindComposer() {
    if (!this.form) {
      return; // read-only: no user
    }
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.form.requestSubmit();
      }
    });
    this.input.addEventListener('input', () => this.onInput());
    // The line wrapping, so the height, follows the width.
    window.addEventListener('resize', () => this.autosize(), { passive: true });
    this.onInput();
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.send();
    });
  }

  /**
   * Updates the height, the counter and the send button. Text over the
   * limit is kept as typed or pasted, never cut: the counter flags it and
   * it cannot be sent until shortened.
   */
  onInput() {
    this.autosize();
    const n = textLength(this.input.value);
    const left = this.maxLen - n;
    this.counter.hidden = left > COUNTER_FROM_LEFT;
    this.counter.textContent = `${n} / ${this.maxLen}`;
    this.counter.classList.toggle('at-limit', left <= 0);
    this.counter.classList.toggle('over-limit', left < 0);
    this.counter.title = left < 0 ? `${-left} characters too many` : '';
    this.input.toggleAttribute('aria-invalid', left < 0);
    this.sendButton.disabled = left < 0;
    this.typingSender?.input(this.input.value);
  }

  /**
   * Fits the textarea's height to its text, up to its CSS max-height. The
   * height is the border box (box-sizing: border-box), so the borders are
   * added to the scroll height, or one line would overflow by them and show
   * a scrollbar.
   */
  autosize() {
    const el = this.input;
    el.style.height = 'auto';
    const borders = el.offsetHeight - el.clientHeight;
    el.style.height = `${el.scrollHeight + borders}px`;
  }

  async send() {
    const text = this.input.value;
    if (!text.trim()) {
      return;
    }
    if (textLength(text) > this.maxLen) {
      this.onInput(); // the counter says why
      return;
    }
    // Resending the same text after a failure reuses its clientId, so if
    // the first attempt did reach the server nothing is stored twice.
    const clientId = this.retry && this.retry.text === text ? this.retry.clientId : crypto.randomUUID();
    this.retry = { text, clientId };
    this.sendError.hidden = true;
    this.typingSender?.sent();
    this.input.value = '';
    this.onInput();
    this.list.addPending(text, clientId);
    this.updateEmpty();
    this.scrollToBottom();
    try {
      const msg = await sendMessage(this.room, text, clientId);
      this.retry = null;
      this.list.add(msg);
      this.scrollToBottom();
    } catch (err) {
      this.list.dropPending(clientId);
      this.updateEmpty();
      if (this.list.hasClientId(clientId)) {
        // The answer was lost, but the message arrived live: it is stored.
        this.confirmSent(clientId);
        return;
      }
      if (this.input.value === '') {
        this.input.value = text;
        this.onInput();
      }
      this.sendError.textContent = `Not sent. ${errorText(err)}`;
      this.sendError.dataset.kind = errorKind(err);
      this.sendError.hidden = false;
      this.input.focus();
    }
  }

  /**
   * Clears the failed-send state once the message sent with clientId is
   * known to be stored (it arrived live although its answer was lost).
   * @param {string} [clientId]
   */
  confirmSent(clientId) {
    if (!clientId || this.retry?.clientId !== clientId) {
      return;
    }
    const { text } = this.retry;
    this.retry = null;
    this.sendError.hidden = true;
    if (this.input.value === text) {
      this.input.value = '';
      this.onInput();
    }
  }

  // --- editing and reacting ----------------------------------------------

  /**
   * Saves the viewer's new text for message id; resolves to whether it was
   * saved (else the editor stays open and the page says why).
   * @param {number} id
   * @param {string} text
   */
  async edit(id, text) {
    if (textLength(text) > this.maxLen) {
      this.showPageError(`Not edited. A message is at most ${this.maxLen} characters.`);
      return false;
    }
    try {
      const msg = await editMessage(this.room, id, text, crypto.randomUUID());
      this.list.update(msg);
      this.showPageError('');
      return true;
    } catch (err) {
      this.showPageError(`Not edited. ${errorText(err)}`, err);
      return false;
    }
  }

  /**
   * Adds (on) or removes the viewer's emoji reaction to message id. The
   * page shows it once the server answers (or its event arrives).
   * @param {number} id
   * @param {string} emoji
   * @param {boolean} on
   */
  async react(id, emoji, on) {
    try {
      const r = await reactToMessage(this.room, id, emoji, on);
      this.list.react(r);
      this.showPageError('');
    } catch (err) {
      this.showPageError(`Reaction not saved. ${errorText(err)}`, err);
    }
  }

  // --- deleting --------------------------------------------------------

  /**
   * Asks whether to delete message id; the form's submit handler acts on
   * the answer. Escape closes the dialog without one.
   * @param {number} id
   */
  askDelete(id) {
    this.deleteTarget = id;
    this.confirm.showModal();
  }

  async remove(id) {
    this.list.setDeleting(id, true);
    try {
      await deleteMessage(this.room, id);
      this.list.remove(id);
      this.showPageError('');
    } catch (err) {
      this.list.setDeleting(id, false);
      if (err instanceof ApiError && err.status === 404) {
        this.list.remove(id); // already gone
        return;
      }
      this.showPageError(`Could not delete the message. ${errorText(err)}`);
    }
  }

  // --- keyboard and errors ---------------------------------------------

  /** Any printable key typed outside a text field starts a message. */
  bindKeyboard() {
    if (!this.input) {
      return;
    }
    document.addEventListener('keydown', (e) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.key.length !== 1) {
        return;
      }
      const t = e.target instanceof Element ? e.target : null;
      if (this.confirm.open || t?.closest('input, textarea, select, [contenteditable]')) {
        return;
      }
      if (e.key === ' ' && t?.closest('button, a, summary')) {
        return; // Space activates the focused control.
      }
      this.input.focus();
    });
  }

  /**
   * Shows text above the composer (empty: hides it).
   * @param {string} text
   * @param {unknown} [err] the failure, which styles a rate limit apart
   */
  showPageError(text, err) {
    this.pageError.textContent = text;
    this.pageError.dataset.kind = errorKind(err);
    this.pageError.hidden = text === '';
  }
}

/**
 * "rate-limit" for the server's 429 (the user is going too fast; the text
 * says for how long), else "".
 * @param {unknown} err
 */
function errorKind(err) {
  return err instanceof ApiError && err.status === 429 ? 'rate-limit' : '';
}

function errorText(err) {
  return err instanceof ApiError ? err.message : 'Something went wrong.';
}

new RoomPage().start();
