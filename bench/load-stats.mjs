// Small pure helpers of bench/load.mjs.

/** Least-squares slope of y over x; 0 with fewer than two distinct x. */
export function linearSlope(points) {
  const n = points.length;
  if (n < 2) return 0;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  let numerator = 0;
  let denominator = 0;
  for (const { x, y } of points) {
    numerator += (x - meanX) * (y - meanY);
    denominator += (x - meanX) ** 2;
  }
  return denominator === 0 ? 0 : numerator / denominator;
}

/** One of `items` at random, each as likely as its `weight`. */
export function pickWeighted(items) {
  const total = items.reduce((sum, item) => sum + item.weight, 0);
  let roll = Math.random() * total;
  for (const item of items) {
    roll -= item.weight;
    if (roll < 0) return item;
  }
  return items.at(-1);
}

/** autocannon's statusCodeStats as plain counts, and how many were errors (>= 400) other than 429. */
export function summarizeStatuses(statusCodeStats = {}) {
  const counts = {};
  let errorsExcept429 = 0;
  for (const [status, { count }] of Object.entries(statusCodeStats)) {
    counts[status] = Number(count);
    if (Number(status) >= 400 && Number(status) !== 429) errorsExcept429 += Number(count);
  }
  return { counts, errorsExcept429 };
}

/**
 * Node process warnings in a process's output (`(node:<pid>) [DEP0xxx] Warning: …` or `(node:<pid>)
 * SomeWarning: …`), counted by message; a warning is printed once per process, so a count says which kinds
 * appeared, not how often they happened.
 */
export function countWarnings(output) {
  const byMessage = {};
  let total = 0;
  for (const match of output.matchAll(/^\(node:\d+\) (?:\[[\w-]+\] )?(\w*Warning: .*)$/gm)) {
    const message = match[1].slice(0, 200);
    byMessage[message] = (byMessage[message] ?? 0) + 1;
    total++;
  }
  return { total, byMessage };
}
