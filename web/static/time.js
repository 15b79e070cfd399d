// Timestamps: short relative labels ("now", "5 min ago", "yesterday, 14:03")
// that the page refreshes every few seconds, and the full local time shown on
// hover.

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const weekday = new Intl.DateTimeFormat(undefined, { weekday: 'short' });
const dayMonth = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const dayMonthYear = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'long' });

/** Midnight (local time) at the start of the day of d, in ms. */
function startOfDay(d) {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/**
 * Returns a short label for when date was, seen from now.
 * @param {Date} date
 * @param {Date} [now]
 * @returns {string}
 */
export function relativeTime(date, now = new Date()) {
  const ago = now.getTime() - date.getTime();
  if (ago < 45_000) {
    // Also covers a sender whose clock runs a little ahead of the server.
    return 'now';
  }
  if (ago < 60 * MINUTE) {
    return `${Math.max(1, Math.round(ago / MINUTE))} min ago`;
  }
  const time = clock.format(date);
  const days = Math.round((startOfDay(now) - startOfDay(date)) / DAY);
  if (days <= 0) {
    return time;
  }
  if (days === 1) {
    return `yesterday, ${time}`;
  }
  if (days < 7) {
    return `${weekday.format(date)}, ${time}`;
  }
  if (date.getFullYear() === now.getFullYear()) {
    return `${dayMonth.format(date)}, ${time}`;
  }
  return `${dayMonthYear.format(date)}, ${time}`;
}

/**
 * Returns the full local date and time of date, for a tooltip.
 * @param {Date} date
 * @returns {string}
 */
export function fullTime(date) {
  return full.format(date);
}
