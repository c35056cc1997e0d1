/**
 * Claims of access tokens this process already verified, keyed by the whole token text, so a client
 * sending the same token again costs a map lookup instead of a signature check. Only what the signature
 * and claim checks settled for good is cached: an entry is served only until the token's own expiry (with
 * the same clock tolerance the verifier allows), and whether the session is still alive is not cached here
 * at all — the JWT guard asks the session store on every request.
 *
 * Bounded: when full, the oldest entry goes first (insertion order, not recency: a lookup stays one
 * `Map.get`; a busy token pushed out is simply verified again).
 */
export class VerifiedTokenCache<T extends { exp: number }> {
  private readonly entries = new Map<string, T>();

  constructor(
    private readonly maxEntries: number,
    private readonly toleranceSeconds: number,
  ) {}

  get(token: string, nowSeconds: number): T | undefined {
    const claims = this.entries.get(token);
    if (!claims) return undefined;
    if (claims.exp <= nowSeconds - this.toleranceSeconds) {
      this.entries.delete(token);
      return undefined;
    }
    return claims;
  }

  set(token: string, claims: T): void {
    if (this.maxEntries <= 0) return;
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(token, claims);
  }

  get size(): number {
    return this.entries.size;
  }
}
