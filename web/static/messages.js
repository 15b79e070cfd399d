// The list of messages on the page, oldest at the top. Messages are keyed by
// id so nothing shows twice, whichever of the history, the live stream and
// the send answer brings it first. The viewer's own messages show at once as
// "pending" (keyed by clientId) and are replaced when the server confirms.
// Edits replace a message in place; reactions update its row of emoji; a
// message that @mentions the viewer is highlighted.

import { fullTime, relativeTime } from './time.js';

/**
 * @typedef {{id: number, room: string, user: string, text: string, html: string, sentAt: string,
 *   clientId?: string, editedAt?: string, reactions?: Record<string, string[]>}} Message
 * @typedef {{id: number, user: string, emoji: string, on: boolean}} Reaction
 */

/** The emoji a message can be reacted with (the server's fixed set). */
export const REACTION_EMOJI = ['👍', '❤️', '😂', '🎉', '😮', '😢'];

/** Escapes s for use inside a regular expression. */
function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Wraps each "@name" of the viewer in the text of el in <mark class="mention">
 * and returns whether there was one. Only text nodes are touched, so the
 * server's sanitised HTML stays as it is.
 * @param {HTMLElement} el
 * @param {string} name
 */
export function highlightMentions(el, name) {
  if (!name) {
    return false;
  }
  const re = new RegExp(`(^|[^\\p{L}\\p{N}_])(@${escapeRegExp(name)})(?![\\p{L}\\p{N}_])`, 'giu');
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const nodes = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    nodes.push(n);
  }
  let found = false;
  for (const node of nodes) {
    const text = node.nodeValue ?? '';
    re.lastIndex = 0;
    if (!re.test(text)) {
      continue;
    }
    found = true;
    re.lastIndex = 0;
    const frag = document.createDocumentFragment();
    let last = 0;
    for (const m of text.matchAll(re)) {
      const at = m.index + m[1].length;
      frag.append(text.slice(last, at));
      const mark = document.createElement('mark');
      mark.className = 'mention';
      mark.textContent = m[2];
      frag.append(mark);
      last = at + m[2].length;
    }
    frag.append(text.slice(last));
    node.replaceWith(frag);
  }
  return found;
}

/** Returns a hue for a user name, so each author keeps one colour. */
function hueOf(name) {
  let h = 7;
  for (const ch of name) {
    h = (Math.imul(h, 31) + ch.codePointAt(0)) >>> 0;
  }
  return (Math.imul(h, 2654435761) >>> 0) % 360;
}

/**
 * The "add a reaction" button that opens picker.
 * @param {Element} picker
 * @returns {HTMLElement | null}
 */
function pickerButton(picker) {
  return picker.closest('.bubble')?.querySelector('.react-add') ?? null;
}

/**
 * Makes button the one emoji of picker in the tab order, and focuses it.
 * @param {Element} picker
 * @param {HTMLElement} button
 */
function rove(picker, button) {
  for (const b of picker.querySelectorAll('button')) {
    b.tabIndex = b === button ? 0 : -1;
  }
  button.focus();
}

/**
 * Opens picker and focuses an emoji: at (default: the one last in the tab
 * order, the first at the start).
 * @param {HTMLElement} picker
 * @param {HTMLElement | null} [at]
 */
function openPicker(picker, at = null) {
  picker.hidden = false;
  pickerButton(picker)?.setAttribute('aria-expanded', 'true');
  const target = at ?? picker.querySelector('button[tabindex="0"]') ?? picker.querySelector('button');
  if (target instanceof HTMLElement) {
    rove(picker, target);
  }
}

/**
 * Closes picker; refocus puts the focus back on the button that opened it
 * (after Escape or a choice), which a click elsewhere must not do.
 * @param {HTMLElement} picker
 * @param {boolean} refocus
 */
function closePicker(picker, refocus) {
  const add = pickerButton(picker);
  const hadFocus = picker.contains(document.activeElement);
  picker.hidden = true;
  add?.setAttribute('aria-expanded', 'false');
  if (refocus || hadFocus) {
    add?.focus();
  }
}

/**
 * The keys of an open picker (a toolbar): arrows move between the emoji,
 * wrapping at the ends, Home and End go to the first and last, Escape
 * closes. Enter and Space are the buttons' own.
 * @param {HTMLElement} picker
 * @param {KeyboardEvent} e
 */
function pickerKey(picker, e) {
  if (e.altKey || e.ctrlKey || e.metaKey) {
    return;
  }
  const buttons = /** @type {HTMLElement[]} */ ([...picker.querySelectorAll('button')]);
  const i = buttons.findIndex((b) => b === document.activeElement);
  const n = buttons.length;
  let next;
  switch (e.key) {
    case 'ArrowRight':
    case 'ArrowDown':
      next = (i + 1) % n;
      break;
    case 'ArrowLeft':
    case 'ArrowUp':
      next = (i - 1 + n) % n;
      break;
    case 'Home':
      next = 0;
      break;
    case 'End':
      next = n - 1;
      break;
    case 'Escape':
      e.preventDefault();
      closePicker(picker, true);
      return;
    default:
      return;
  }
  e.preventDefault();
  rove(picker, buttons[next]);
}

export class MessageList {
  /**
   * @param {HTMLOListElement} list
   * @param {{user: string, onDelete: (id: number) => void,
   *   onEdit?: (id: number, text: string) => Promise<boolean>,
   *   onReact?: (id: number, emoji: string, on: boolean) => void}} opts
   *   onEdit resolves to whether the edit was saved (the editor stays open
   *   otherwise)
   */
  constructor(list, { user, onDelete, onEdit, onReact }) {
    this.list = list;
    this.user = user;
    this.onDelete = onDelete;
    this.onEdit = onEdit;
    this.onReact = onReact;
    /** @type {Map<number, Message>} the messages shown, by id */
    this.data = new Map();
    // An open reaction picker closes on a click elsewhere or on Escape.
    document.addEventListener('click', (e) => this.closePickers(e.target));
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        this.closePickers(null);
      }
    });
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
    this.data.clear();
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
    this.data.set(msg.id, msg);
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
    // Pending messages stay last; other rows (the unread divider) are
    // passed over.
    while (node && (node.dataset.pending || !node.dataset.id || Number(node.dataset.id) > id)) {
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
    this.data.delete(id);
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

  /**
   * The element of message id, if shown.
   * @param {number} id
   */
  element(id) {
    return this.byId.get(id);
  }

  /**
   * Replaces a shown message with its edited version (an edit event or the
   * answer to the viewer's edit); returns whether it was shown. Its
   * reactions stay those the page knows: an edit does not change them.
   * @param {Message} msg
   */
  update(msg) {
    const old = this.byId.get(msg.id);
    const known = this.data.get(msg.id);
    if (!old || !known) {
      return false;
    }
    const next = { ...msg, reactions: msg.reactions ?? known.reactions };
    const li = this.render(next);
    const editor = old.querySelector('.editor');
    const focused = editor?.contains(document.activeElement) ? document.activeElement : null;
    // An open picker stays open, and a focused reaction control focused,
    // in the new row (its emoji pressed as they are now).
    const wasOpen = old.querySelector('.react-picker:not([hidden])') !== null;
    const active = document.activeElement;
    const activeEmoji =
      active instanceof HTMLElement && old.querySelector('.react-picker')?.contains(active) ? active.dataset.emoji : undefined;
    const addFocused = active instanceof HTMLElement && active.classList.contains('react-add') && old.contains(active);
    if (editor) {
      // The viewer is editing it (another tab saved first): keep the
      // editor and what it holds, and its focus (moving it blurs it).
      const body = li.querySelector('.body');
      body.hidden = true;
      body.after(editor);
      li.classList.add('editing');
    }
    old.replaceWith(li);
    if (focused instanceof HTMLElement) {
      focused.focus();
    }
    const picker = li.querySelector('.react-picker');
    if (picker instanceof HTMLElement && (wasOpen || activeEmoji !== undefined)) {
      const at = [...picker.querySelectorAll('button')].find((b) => b.dataset.emoji === activeEmoji) ?? null;
      if (at) {
        openPicker(picker, at);
      } else {
        // Open, the focus elsewhere: keep it where it is.
        picker.hidden = false;
        li.querySelector('.react-add')?.setAttribute('aria-expanded', 'true');
      }
    }
    if (addFocused) {
      li.querySelector('.react-add')?.focus();
    }
    this.byId.set(msg.id, li);
    this.data.set(msg.id, next);
    return true;
  }

  /**
   * Applies a reaction event: adds or removes one user's emoji on a shown
   * message. Applying the same one twice changes nothing.
   * @param {Reaction} r
   */
  react(r) {
    const msg = this.data.get(Number(r.id));
    const li = this.byId.get(Number(r.id));
    if (!msg || !li) {
      return false;
    }
    const reactions = { ...(msg.reactions ?? {}) };
    const users = new Set(reactions[r.emoji] ?? []);
    if (r.on) {
      users.add(r.user);
    } else {
      users.delete(r.user);
    }
    if (users.size > 0) {
      reactions[r.emoji] = [...users].sort();
    } else {
      delete reactions[r.emoji];
    }
    msg.reactions = reactions;
    li.querySelector('.reactions')?.replaceWith(this.renderReactions(msg));
    for (const b of li.querySelectorAll('.react-picker button')) {
      b.setAttribute('aria-pressed', String(this.reacted(msg.id, b.dataset.emoji ?? '')));
    }
    return true;
  }

  /**
   * Whether the viewer reacted to message id with emoji.
   * @param {number} id
   * @param {string} emoji
   */
  reacted(id, emoji) {
    return (this.data.get(id)?.reactions?.[emoji] ?? []).includes(this.user);
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
    if (msg.editedAt) {
      li.classList.add('edited');
    }
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
    if (msg.editedAt) {
      const edited = document.createElement('span');
      edited.className = 'edited-mark';
      edited.textContent = '(edited)';
      edited.title = `Edited ${fullTime(new Date(msg.editedAt))}`;
      meta.append(' ', edited);
    }

    const body = document.createElement('div');
    body.className = 'body';
    if (msg.html) {
      body.innerHTML = msg.html;
    } else {
      body.textContent = msg.text;
    }
    if (!own && highlightMentions(body, this.user)) {
      li.classList.add('mentions-me');
    }
    bubble.append(meta, body);
    if (msg.id) {
      bubble.append(this.renderReactions(msg));
      if (this.user !== '' && this.onReact) {
        this.addPicker(msg.id, meta, bubble);
      }
    }

    if (msg.id === 0) {
      const state = document.createElement('span');
      state.className = 'sending';
      state.textContent = 'Sending…';
      meta.append(' ', state);
    } else if (own) {
      if (this.onEdit) {
        const edit = document.createElement('button');
        edit.type = 'button';
        edit.className = 'edit';
        edit.textContent = 'Edit';
        edit.setAttribute('aria-label', `Edit your message sent ${relativeTime(sent)}`);
        edit.addEventListener('click', () => this.startEdit(msg.id));
        bubble.append(edit);
      }
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

  /**
   * The row of reactions under a message: one button per emoji used (its
   * count; pressed when the viewer is among its users; the users in its
   * title).
   * @param {Message} msg
   */
  renderReactions(msg) {
    const row = document.createElement('div');
    row.className = 'reactions';
    const reactions = msg.reactions ?? {};
    const canReact = this.user !== '' && this.onReact;
    for (const emoji of REACTION_EMOJI) {
      const users = reactions[emoji] ?? [];
      if (users.length === 0) {
        continue;
      }
      const mine = users.includes(this.user);
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'reaction';
      b.dataset.emoji = emoji;
      b.setAttribute('aria-pressed', String(mine));
      b.title = users.join(', ');
      b.setAttribute('aria-label', `${emoji} ${users.length}: ${users.join(', ')}`);
      const count = document.createElement('span');
      count.className = 'count';
      count.textContent = String(users.length);
      b.append(emoji, ' ', count);
      if (canReact) {
        b.addEventListener('click', () => this.onReact(msg.id, emoji, !this.reacted(msg.id, emoji)));
      } else {
        b.disabled = true;
      }
      row.append(b);
    }
    return row;
  }

  /**
   * Adds the "add a reaction" button to a message's meta line and its
   * picker (the six emoji, each pressed when the viewer used it) to the
   * bubble. The picker is a toolbar (WAI-ARIA): opening it focuses an
   * emoji; one emoji at a time is in the tab order (roving tabindex);
   * Left/Right and Up/Down move between them, wrapping, Home and End go to
   * the ends; Enter or Space chooses; Escape closes it and focuses the
   * button again, as choosing does. Down or Up on the button opens it on
   * the first or last emoji.
   * @param {number} id
   * @param {HTMLElement} meta
   * @param {HTMLElement} bubble
   */
  addPicker(id, meta, bubble) {
    const add = document.createElement('button');
    add.type = 'button';
    add.className = 'react-add';
    add.textContent = '☺';
    add.setAttribute('aria-label', 'Add a reaction');
    add.setAttribute('aria-expanded', 'false');
    const picker = document.createElement('div');
    picker.className = 'react-picker';
    picker.setAttribute('role', 'toolbar');
    picker.setAttribute('aria-label', 'Reactions');
    picker.hidden = true;
    REACTION_EMOJI.forEach((emoji, i) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.emoji = emoji;
      b.textContent = emoji;
      b.tabIndex = i === 0 ? 0 : -1;
      b.setAttribute('aria-pressed', String(this.reacted(id, emoji)));
      b.addEventListener('click', () => {
        closePicker(picker, true);
        this.onReact(id, emoji, !this.reacted(id, emoji));
      });
      picker.append(b);
    });
    picker.addEventListener('keydown', (e) => pickerKey(picker, e));
    // Tabbing out of an open picker closes it, as a click elsewhere does.
    picker.addEventListener('focusout', (e) => {
      const to = e.relatedTarget;
      if (to instanceof Node && !picker.contains(to) && to !== add) {
        closePicker(picker, false);
      }
    });
    add.addEventListener('click', () => {
      if (picker.hidden) {
        openPicker(picker);
      } else {
        closePicker(picker, false);
      }
    });
    add.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const buttons = picker.querySelectorAll('button');
        openPicker(picker, e.key === 'ArrowDown' ? buttons[0] : buttons[buttons.length - 1]);
      }
    });
    meta.append(add);
    bubble.append(picker);
  }

  /**
   * Closes every open reaction picker but the one target is in (or whose
   * button it is).
   * @param {EventTarget | null} target
   */
  closePickers(target) {
    for (const picker of this.list.querySelectorAll('.react-picker:not([hidden])')) {
      const add = pickerButton(picker);
      if (target instanceof Node && (picker.contains(target) || add?.contains(target))) {
        continue;
      }
      closePicker(/** @type {HTMLElement} */ (picker), false);
    }
  }

  /**
   * Opens the editor of the viewer's message id in place of its text: Enter
   * or Save saves, Escape or Cancel closes it unchanged.
   * @param {number} id
   */
  startEdit(id) {
    const li = this.byId.get(id);
    const msg = this.data.get(id);
    if (!li || !msg || !this.onEdit || li.querySelector('.editor')) {
      return;
    }
    const body = li.querySelector('.body');
    const form = document.createElement('form');
    form.className = 'editor';
    const input = document.createElement('textarea');
    input.className = 'edit-input';
    input.value = msg.text;
    input.rows = Math.min(6, msg.text.split('\n').length);
    input.setAttribute('aria-label', 'Edit your message');
    const save = document.createElement('button');
    save.type = 'submit';
    save.className = 'edit-save';
    save.textContent = 'Save';
    const cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.className = 'edit-cancel';
    cancel.textContent = 'Cancel';
    form.append(input, save, cancel);
    // The message's row may have been replaced meanwhile (an edit event):
    // close whichever row holds the editor now.
    const close = () => {
      const row = form.closest('li');
      form.remove();
      row?.querySelector('.body')?.removeAttribute('hidden');
      row?.classList.remove('editing');
    };
    cancel.addEventListener('click', close);
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        close();
      } else if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const text = input.value;
      if (text.trim() === '' || text === msg.text) {
        close();
        return;
      }
      save.disabled = true;
      const saved = await this.onEdit(id, text);
      save.disabled = false;
      if (saved && form.isConnected) {
        close();
      }
    });
    body.hidden = true;
    body.after(form);
    li.classList.add('editing');
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }
}
