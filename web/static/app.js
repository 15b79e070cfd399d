// The room page: history, live updates, sending and deleting. The server
// renders the page shell with the room and the viewer (meta tags); this
// module does the rest. No inline script: the CSP forbids it.

import { ApiError, deleteMessage, fetchMessages, sendMessage } from './api.js';
import { MessageList } from './messages.js';
import { RoomStream } from './stream.js';

/** Distance from the bottom (px) that still counts as "at the bottom". */
const BOTTOM_SLACK = 48;
/** How often relative timestamps are refreshed. */
const TIME_REFRESH_MS = 5000;
/** The counter shows once this few characters are left. */
const COUNTER_FROM_LEFT = 100;

function meta(name) {
  return document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
}

function byId(id) {
  return document.getElementById(id);
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
    this.sendError = byId('send-error');
    this.confirm = byId('confirm-delete');
    this.messagesEl = byId('messages');

    this.list = new MessageList(this.messagesEl, {
      user: this.user,
      onDelete: (id) => this.askDelete(id),
    });
    this.stream = new RoomStream(this.room, {
      onEvent: (ev) => this.onEvent(ev),
      onState: (s) => this.setState(s),
    });
    /** Events that arrive while the history reloads, applied after it. */
    this.queue = null;
    /** The text and clientId of the last send that failed, for a retry. */
    this.retry = null;
  }

  async start() {
    this.bindScrolling();
    this.bindComposer();
    this.bindKeyboard();
    this.loadMoreButton.addEventListener('click', () => this.loadMore());
    setInterval(() => this.list.refreshTimes(), TIME_REFRESH_MS);
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
        this.setMore(page.more);
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
    const before = this.list.oldestId();
    if (!before) {
      return;
    }
    this.loadMoreButton.disabled = true;
    try {
      const page = await fetchMessages(this.room, before);
      const height = this.log.scrollHeight;
      const top = this.log.scrollTop;
      for (const msg of page.messages) {
        this.list.add(msg);
      }
      this.log.scrollTop = top + (this.log.scrollHeight - height);
      this.setMore(page.more);
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
    this.empty.hidden = this.list.size > 0 || more;
  }

  // --- live events -----------------------------------------------------

  onEvent(ev) {
    if (this.queue) {
      this.queue.push(ev);
      return;
    }
    this.apply(ev);
  }

  apply(ev) {
    switch (ev.type) {
      case 'message': {
        const atBottom = this.atBottom();
        if (this.list.add(ev.data)) {
          if (atBottom) {
            this.scrollToBottom();
          } else {
            this.showToBottom('New messages');
          }
        }
        this.empty.hidden = true;
        break;
      }
      case 'delete':
        this.list.remove(Number(ev.data.id));
        this.empty.hidden = this.list.size > 0 || !this.loadMoreButton.hidden;
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
    const last = await this.loadNewest();
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
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.send();
    });
  }

  onInput() {
    this.autosize();
    const max = this.input.maxLength;
    const left = max - this.input.value.length;
    this.counter.hidden = left > COUNTER_FROM_LEFT;
    this.counter.textContent = `${this.input.value.length} / ${max}`;
    this.counter.classList.toggle('at-limit', left <= 0);
  }

  autosize() {
    this.input.style.height = 'auto';
    this.input.style.height = `${this.input.scrollHeight}px`;
  }

  async send() {
    const text = this.input.value;
    if (!text.trim()) {
      return;
    }
    // Resending the same text after a failure reuses its clientId, so if
    // the first attempt did reach the server nothing is stored twice.
    const clientId = this.retry && this.retry.text === text ? this.retry.clientId : crypto.randomUUID();
    this.retry = { text, clientId };
    this.sendError.hidden = true;
    this.input.value = '';
    this.onInput();
    this.list.addPending(text, clientId);
    this.empty.hidden = true;
    this.scrollToBottom();
    try {
      const msg = await sendMessage(this.room, text, clientId);
      this.retry = null;
      this.list.add(msg);
      this.scrollToBottom();
    } catch (err) {
      this.list.dropPending(clientId);
      if (this.input.value === '') {
        this.input.value = text;
        this.onInput();
      }
      this.sendError.textContent = `Not sent. ${errorText(err)}`;
      this.sendError.hidden = false;
      this.input.focus();
    }
  }

  // --- deleting --------------------------------------------------------

  askDelete(id) {
    this.confirm.returnValue = '';
    this.confirm.addEventListener('close', () => {
      if (this.confirm.returnValue === 'delete') {
        this.remove(id);
      }
    }, { once: true });
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

  showPageError(text) {
    this.pageError.textContent = text;
    this.pageError.hidden = text === '';
  }
}

function errorText(err) {
  return err instanceof ApiError ? err.message : 'Something went wrong.';
}

new RoomPage().start();
