// What the viewer missed while the tab was hidden: the title counts the new
// messages ("(3) Room · Fanout Chat"), and on return a "New messages"
// divider sits above the first of them until the tab is hidden again.

export class Unread {
  /**
   * @param {{list: HTMLOListElement, user: string,
   *   element: (id: number) => HTMLElement | undefined, doc?: Document}} opts
   *   element finds the row of a shown message by id
   */
  constructor({ list, user, element, doc = document }) {
    this.list = list;
    this.user = user;
    this.element = element;
    this.doc = doc;
    this.title = doc.title;
    /** New messages since the tab was hidden. */
    this.count = 0;
    /** The id of the first of them, 0 if none. */
    this.firstId = 0;
    this.divider = null;
  }

  start() {
    this.doc.addEventListener('visibilitychange', () => {
      if (this.doc.hidden) {
        this.hidden();
      } else {
        this.visible();
      }
    });
  }

  /**
   * Counts a message that arrived live (not one of the viewer's own).
   * @param {{id: number, user: string}} msg
   */
  arrived(msg) {
    if (!this.doc.hidden || msg.user === this.user) {
      return;
    }
    this.count++;
    if (!this.firstId || msg.id < this.firstId) {
      this.firstId = msg.id;
    }
    this.doc.title = `(${this.count}) ${this.title}`;
  }

  /** The tab was hidden: a new count starts; the old divider goes. */
  hidden() {
    this.count = 0;
    this.firstId = 0;
    this.divider?.remove();
    this.divider = null;
  }

  /**
   * The tab is back: the title is restored and the divider placed above
   * the first message that came while it was away (if it is still shown).
   */
  visible() {
    this.doc.title = this.title;
    const first = this.firstId ? this.element(this.firstId) : undefined;
    if (first) {
      const li = this.doc.createElement('li');
      li.className = 'unread-divider';
      li.setAttribute('role', 'separator');
      li.textContent = this.count === 1 ? 'New message' : `${this.count} new messages`;
      first.before(li);
      this.divider = li;
      li.scrollIntoView({ block: 'nearest' });
    }
    this.count = 0;
    this.firstId = 0;
  }
}
