/**
 * Decides which detections form one aggregated alert (`alert.groupWindowMs`; the alert itself is
 * built by map/group.ts). A group opens with the first detection of its key (category +
 * matchedIndicator) and takes every later one whose receive time is inside the window; it closes
 * when a record received after its window is read, when it reaches `maxSightings`, or — once the
 * spool has nothing more to read — when the wall clock passes its window plus a grace for the
 * group commit.
 *
 * Receive times come from the spool records, so replaying a backlog after a restart forms the same
 * groups as the first pass did; the first sighting (and so the sourceRef) is the same, and TheHive
 * answers "already exists" to a resend. Groups are held in memory until they close; sightings held
 * count against `maxHeld` (the oldest group closes early when it is reached), so memory is bounded.
 */
import type { Alert, AlertPolicy } from '../types.js';
import { alertFromSightings, groupKey, type Sighting } from '../map/group.js';

/** Wall-clock closing waits this much past the window: a record received just inside it may still be in the group commit. */
export const GROUP_CLOSE_GRACE_MS = 1000;

/** A closed group: its alert and the spool records it stands for. */
export interface ClosedGroup {
  readonly alert: Alert;
  readonly ticket: readonly number[];
}

export interface GrouperOptions {
  readonly windowMs: number;
  readonly maxSightings: number;
  /** Sightings held in all open groups at most. */
  readonly maxHeld: number;
  readonly policy: AlertPolicy;
}

interface Group {
  readonly opened: number;
  readonly sightings: Sighting[];
  readonly seqs: number[];
}

export class Grouper {
  readonly #o: GrouperOptions;
  /** Open groups by key, in the order they opened (Map keeps insertion order): oldest first. */
  readonly #open = new Map<string, Group>();
  #held = 0;

  constructor(options: GrouperOptions) {
    this.#o = options;
  }

  /** Sightings held in open groups. */
  get held(): number {
    return this.#held;
  }

  /** When the oldest open group's window ends (receive-time clock), or null when none is open. */
  get nextClose(): number | null {
    for (const g of this.#open.values()) return g.opened + this.#o.windowMs;
    return null;
  }

  /** Adds one detection (spool record `seq`); returns the groups this closes, oldest first. */
  add(seq: number, sighting: Sighting): ClosedGroup[] {
    const closed = this.#closeBefore(sighting.receivedAt - this.#o.windowMs);
    const key = groupKey(sighting.record);
    let group = this.#open.get(key);
    if (group === undefined) {
      group = { opened: sighting.receivedAt, sightings: [], seqs: [] };
      this.#open.set(key, group);
    }
    group.sightings.push(sighting);
    group.seqs.push(seq);
    this.#held += 1;
    if (group.sightings.length >= this.#o.maxSightings) closed.push(this.#close(key, group));
    while (this.#held > this.#o.maxHeld) {
      const oldest = this.#open.entries().next().value;
      if (oldest === undefined) break;
      closed.push(this.#close(oldest[0], oldest[1]));
    }
    return closed;
  }

  /** Closes the groups whose window plus grace has passed by the wall clock `now`; call only when nothing is left to read. */
  expire(now: number): ClosedGroup[] {
    return this.#closeBefore(now - this.#o.windowMs - GROUP_CLOSE_GRACE_MS);
  }

  /** Closes every group that opened at or before `time`. */
  #closeBefore(time: number): ClosedGroup[] {
    const closed: ClosedGroup[] = [];
    for (const [key, group] of this.#open) {
      if (group.opened > time) break;
      closed.push(this.#close(key, group));
    }
    return closed;
  }

  #close(key: string, group: Group): ClosedGroup {
    this.#open.delete(key);
    this.#held -= group.sightings.length;
    return { alert: alertFromSightings(group.sightings, this.#o.policy), ticket: group.seqs };
  }
}
