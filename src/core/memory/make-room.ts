/**
 * Bounds a Map used as a cache whose insertion order is its age order (entries re-inserted when renewed):
 * drops the entries `over` says have ended, then the oldest, down to 90 % of `max`, so that a flood of new
 * keys pays this scan once per tenth of capacity, not once per insert.
 */
export function makeRoom<K, V>(map: Map<K, V>, max: number, over: (value: V) => boolean): void {
  for (const [key, value] of map) if (over(value)) map.delete(key);
  const target = Math.floor(max * 0.9);
  for (const key of map.keys()) {
    if (map.size <= target) break;
    map.delete(key);
  }
}
