/**
 * `tracehive alerts list|show|forget KEY`: what the lifecycle remembers of each key's alert
 * (spool.dir/alerts/state.ndjson) and of each mail alert it may update (mail-state.ndjson: SIEM
 * incidents), read from the files alone, so it is safe while serve runs.
 * `forget` resets a key: its next sighting finds the alert again in TheHive by its sourceRef and
 * counts from there. While serve runs it owns the state, so the command leaves a request that serve
 * carries out within seconds (forget-requests.ts); otherwise it writes the state itself, under the
 * spool's lock so that no serve starts meanwhile.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { BridgeError } from '../errors.js';
import { requestForget } from '../lifecycle/forget-requests.js';
import type { KeyState } from '../lifecycle/state.js';
import { MAIL_STATE_FILE, type MailKeyState } from '../lifecycle/mail-lifecycle.js';
import { StateStore } from '../lifecycle/state-store.js';
import { releaseLock, takeLock } from '../queue/spool-lock.js';

/** One key as `alerts list --json` prints it. */
export interface AlertSummary {
  readonly key: string;
  readonly sourceRef: string;
  readonly alertId: string | null;
  readonly generation: number;
  readonly sightings: number;
  readonly severity: number;
  readonly firstSeen: string | null;
  readonly lastSeen: string | null;
  readonly title: string;
  readonly previous: string | null;
}

/** Title characters a list line shows: one line per key on an ordinary terminal. */
const TITLE_COLUMNS = 60;

export function alertsDir(spoolDir: string): string {
  return join(spoolDir, 'alerts');
}

/** Every key known, least recently seen first; none when serve never ran the lifecycle here. */
export async function loadStates(spoolDir: string): Promise<KeyState[]> {
  const dir = alertsDir(spoolDir);
  if (!(await access(dir).then(() => true, () => false))) return [];
  // Keys are evicted only when one is added: reading never drops one, whatever the cap.
  const store = await StateStore.open({ dir, maxKeys: Number.MAX_SAFE_INTEGER });
  return store.list();
}

/** Every mail alert known (SIEM incidents and mails), least recently seen first. */
export async function loadMailStates(spoolDir: string): Promise<MailKeyState[]> {
  const dir = alertsDir(spoolDir);
  if (!(await access(dir).then(() => true, () => false))) return [];
  const store = await StateStore.open<MailKeyState>({ dir, file: MAIL_STATE_FILE, maxKeys: Number.MAX_SAFE_INTEGER });
  return store.list();
}

/** One mail alert as `alerts list --json` prints it. */
export function mailSummary(s: MailKeyState): Record<string, unknown> {
  return {
    kind: 'mail',
    key: s.key,
    sourceRef: s.sourceRef,
    alertId: s.alertId,
    generation: s.generation,
    severity: s.mail.severity,
    updates: s.mail.updateCount,
    lastReceived: new Date(s.lastReceived).toISOString(),
    title: s.mail.title,
    previous: s.previous === null ? null : `${s.previous.sourceRef} (${s.previous.why})`,
  };
}

/** The mail state a KEY argument names: a key, a sourceRef (the alert's or the mail's own) or TheHive's alert id. */
export function findMailState(states: readonly MailKeyState[], wanted: string): MailKeyState | undefined {
  const w = wanted.trim();
  return states.find((s) => s.key === w) ?? states.find((s) => s.sourceRef === w) ?? states.find((s) => s.alertId === w) ?? states.find((s) => s.baseSourceRef === w);
}

export function formatMailList(states: readonly MailKeyState[]): string {
  if (states.length === 0) return '';
  const lines = [`${states.length} mail alerts (least recently seen first):`, 'KEY                   UPDATES SEV LAST RECEIVED             SOURCEREF / ALERT ID      TITLE'];
  for (const s of states) {
    const title = s.mail.title.length > TITLE_COLUMNS ? `${s.mail.title.slice(0, TITLE_COLUMNS - 1)}…` : s.mail.title;
    lines.push(`${s.key} ${String(s.mail.updateCount).padStart(7)} ${String(s.mail.severity).padStart(3)} ${new Date(s.lastReceived).toISOString().padEnd(25)} ${`${s.sourceRef} ${s.alertId}`.padEnd(25)} ${title}`);
  }
  return `${lines.join('\n')}\n`;
}

export function formatMailShow(s: MailKeyState): string {
  const lines = [
    `key        ${s.key} (mail: ${s.mail.kind === 'notification' ? 'a SIEM notification, updated by its re-notifications' : 'an ordinary mail, never updated'})`,
    `alert      ${s.alertId}, sourceRef ${s.sourceRef}, generation ${s.generation}`,
    `title      ${s.mail.title}`,
    `severity   ${s.mail.severity}`,
    `updates    ${s.mail.updateCount}, last received ${new Date(s.lastReceived).toISOString()}`,
    `tags       ${s.mail.tags.join(', ') || '-'}`,
    `previous   ${s.previous === null ? '-' : `${s.previous.sourceRef} (${s.previous.why})`}`,
  ];
  return `${lines.join('\n')}\n`;
}

export function summary(s: KeyState): AlertSummary {
  return {
    key: s.key,
    sourceRef: s.sourceRef,
    alertId: s.alertId,
    generation: s.generation,
    sightings: s.count,
    severity: s.severity,
    firstSeen: Number.isFinite(s.first) ? new Date(s.first).toISOString() : null,
    lastSeen: Number.isFinite(s.last) ? new Date(s.last).toISOString() : null,
    title: s.base.title,
    previous: s.previous === null ? null : `${s.previous.sourceRef} (${s.previous.why})`,
  };
}

/** The state a KEY argument names: a key, a sourceRef or TheHive's alert id. */
export function findState(states: readonly KeyState[], wanted: string): KeyState | undefined {
  const w = wanted.trim();
  return states.find((s) => s.key === w) ?? states.find((s) => s.sourceRef === w) ?? states.find((s) => s.alertId === w) ?? states.find((s) => `key:${s.key}` === w);
}

export function formatList(states: readonly KeyState[]): string {
  if (states.length === 0) return 'No alert is known yet: the lifecycle remembers a key once its first alert is created.\n';
  const lines = [`${states.length} keys (least recently seen first):`, 'KEY                   SIGHTINGS SEV LAST SEEN                 SOURCEREF / ALERT ID      TITLE'];
  for (const s of states) {
    const u = summary(s);
    const title = u.title.length > TITLE_COLUMNS ? `${u.title.slice(0, TITLE_COLUMNS - 1)}…` : u.title;
    lines.push(`${u.key} ${String(u.sightings).padStart(9)} ${String(u.severity).padStart(3)} ${(u.lastSeen ?? '-').padEnd(25)} ${`${u.sourceRef} ${u.alertId ?? '(not created)'}`.padEnd(25)} ${title}`);
  }
  return `${lines.join('\n')}\n`;
}

export function formatShow(s: KeyState): string {
  const u = summary(s);
  const lines = [
    `key        ${u.key} (tag key:${u.key})`,
    `alert      ${u.alertId ?? '(not created yet)'}, sourceRef ${u.sourceRef}, generation ${u.generation}`,
    `title      ${u.title}`,
    `sightings  ${u.sightings}, first seen ${u.firstSeen ?? '-'}, last seen ${u.lastSeen ?? '-'}, last received ${new Date(s.lastReceived).toISOString()}`,
    `severity   ${u.severity}`,
    `tags       ${s.tags.join(', ') || '-'}`,
    `observables ${s.observables.length}${s.observablesLeftOut > 0 ? ` (${s.observablesLeftOut} left out over the cap)` : ''}`,
    `previous   ${u.previous ?? '-'}`,
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * Forgets the key `wanted` names. Returns what was done, for the operator: at once (no serve runs)
 * or by request (serve runs and does it at its next poll).
 */
export async function forgetKey(spoolDir: string, wanted: string): Promise<{ state: { readonly key: string; readonly sourceRef: string; readonly what: string }; how: 'now' | 'requested' }> {
  const queueDir = join(spoolDir, 'queue');
  // No queue directory: no serve ever ran here, none runs now.
  const serveCanRun = await access(queueDir).then(() => true, () => false);
  let locked = false;
  let held = false;
  if (serveCanRun) {
    try {
      await takeLock(queueDir);
      locked = true;
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_SPOOL_LOCKED') throw err;
      held = true;
    }
  }
  try {
    const detection = findState(await loadStates(spoolDir), wanted);
    const mail = detection === undefined ? findMailState(await loadMailStates(spoolDir), wanted) : undefined;
    const state = detection ? { key: detection.key, sourceRef: detection.sourceRef, what: `${detection.count} sightings` } : mail ? { key: mail.key, sourceRef: mail.sourceRef, what: `mail alert, ${mail.mail.updateCount} updates` } : undefined;
    if (state === undefined) {
      throw new BridgeError('ERR_USAGE', `No alert state matches ${JSON.stringify(wanted)}: give a key, a sourceRef or an alert id that tracehive alerts list shows.`);
    }
    if (held) {
      await requestForget(spoolDir, [state.key]);
      return { state, how: 'requested' };
    }
    const store = detection ? await StateStore.open({ dir: alertsDir(spoolDir), maxKeys: Number.MAX_SAFE_INTEGER }) : await StateStore.open<MailKeyState>({ dir: alertsDir(spoolDir), file: MAIL_STATE_FILE, maxKeys: Number.MAX_SAFE_INTEGER });
    await store.forget(state.key);
    await store.close();
    return { state, how: 'now' };
  } finally {
    if (locked) await releaseLock(queueDir);
  }
}
