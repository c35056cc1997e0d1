/**
 * `text` as a literal inside a LIKE pattern with `ESCAPE '\'`: its `%`, `_` and `\` match themselves, so a
 * department path or a search term can never widen the match.
 */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}
