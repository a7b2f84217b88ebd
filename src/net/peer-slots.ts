/**
 * A per-address share of a listener's connection slots (tcp.maxConnectionsPerPeer,
 * email.smtp.maxClientsPerPeer): without it one address that opens connections and never
 * lets go takes every slot of the global limit, and every other sender is refused (vector's
 * `connection_limit` bounds the total; this bounds what one peer may hold of it).
 */

/** Counts open connections by peer address and refuses one over the share. */
export class PeerSlots {
  readonly #max: number;
  readonly #held = new Map<string, number>();

  /** `max`: connections one address may hold at once. */
  constructor(max: number) {
    if (!Number.isSafeInteger(max) || max < 1) throw new TypeError(`Expected \`max\` to be a positive integer, got ${JSON.stringify(max)}.`);
    this.#max = max;
  }

  /** Takes a slot for `address`; false (nothing taken) when it already holds its share. */
  take(address: string): boolean {
    const held = this.#held.get(address) ?? 0;
    if (held >= this.#max) return false;
    this.#held.set(address, held + 1);
    return true;
  }

  /** Gives back a slot taken by {@link take}. */
  give(address: string): void {
    const held = this.#held.get(address) ?? 0;
    if (held <= 1) this.#held.delete(address);
    else this.#held.set(address, held - 1);
  }

  /** Connections `address` holds now. */
  held(address: string): number {
    return this.#held.get(address) ?? 0;
  }
}
