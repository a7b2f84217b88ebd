/**
 * `tracehive spool stats`: what waits in spool.dir, read from the files alone (safe while serve
 * runs: it never writes and takes no lock). Depth and age of the queue; dead letters by code and
 * day, rejected lines and quarantined mails, each with its bytes against its cap, its oldest file
 * and its retention; requeue requests waiting for serve; mails waiting in the ingest drop
 * directory (and 0.1.0's legacy incoming/); keys the alert lifecycle remembers; notifications
 * waiting in the outbox and dead ones.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import split2 from 'split2';
import type { FileBudget } from '../config.js';
import { openPrivate } from '../io/private-files.js';
import { KeptFiles, type KeptNaming, type KeptUsage } from '../io/kept-files.js';
import { inspectSpool } from '../queue/spool.js';
import { DEAD_FILES } from '../queue/dead-letter.js';
import { isNotifyDeadFile } from '../notify/dead-letters.js';
import { notifyDir } from '../notify/outbox.js';
import { parseRecord, pendingChannels } from '../notify/record.js';
import { isDropName } from '../queue/drop-file.js';
import { alertsDir, loadStates } from './alerts.js';

/** Bytes, files, age and limits of one directory of kept files. */
export interface KeptReport {
  readonly bytes: number;
  /** The cap (spool.<dir>.maxBytes); null when the report was made without the configuration. */
  readonly maxBytes: number | null;
  readonly retentionDays: number | null;
  readonly oldestTime: string | null;
}

export interface SpoolReport {
  readonly dir: string;
  readonly queue: { readonly records: number; readonly bytes: number; readonly segments: number; readonly oldestTime: string | null; readonly oldestAgeSeconds: number | null; readonly corrupt: number; readonly torn: number };
  /** `total`: dead alerts; `notifications`: dead notifications (notify-*.ndjson); `files` holds both kinds. */
  readonly dead: KeptReport & { readonly total: number; readonly notifications: number; readonly byCode: Record<string, number>; readonly files: { readonly name: string; readonly alerts: number }[] };
  /** The notification outbox (spool.dir/notify/): waiting to be sent, and markers of sent ones. */
  readonly notify: { readonly waiting: number; readonly sent: number; readonly unreadable: number };
  readonly rejected: KeptReport & { readonly total: number; readonly files: number };
  readonly quarantine: KeptReport & { readonly mails: number };
  readonly requeue: { readonly requests: number; readonly inProgress: number };
  /** Alerts 0.1.0's `tracehive ingest` left in spool.dir/incoming/, for serve's next start. */
  readonly incoming: { readonly alerts: number };
  /** What the alert lifecycle remembers (`tracehive alerts list`): keys and the state file's bytes. */
  readonly alerts: { readonly keys: number; readonly bytes: number };
  /** Mails in ingest.dropDir waiting for serve, and files it moved aside; null without the configuration. */
  readonly drop: { readonly dir: string; readonly waiting: number } | null;
}

export interface ReportOptions {
  readonly budgets?: { readonly dead: FileBudget; readonly rejected: FileBudget; readonly quarantine: FileBudget };
  readonly dropDir?: string;
}

export async function spoolReport(spoolDir: string, now: number = Date.now(), options: ReportOptions = {}): Promise<SpoolReport> {
  const q = await inspectSpool(join(spoolDir, 'queue'));
  const kept = async (dir: 'dead' | 'rejected' | 'quarantine', naming: KeptNaming): Promise<KeptReport & { files: number }> => {
    const budget = options.budgets?.[dir];
    const files = new KeptFiles(join(spoolDir, dir), naming, budget ?? { maxBytes: 0, retentionDays: 0 }, () => now);
    await files.scan();
    const u: KeptUsage = files.usage();
    return { bytes: u.bytes, files: u.files, maxBytes: budget?.maxBytes ?? null, retentionDays: budget?.retentionDays ?? null, oldestTime: u.oldest === null ? null : new Date(u.oldest).toISOString() };
  };
  const deadUsage = await kept('dead', DEAD_FILES);
  const rejectedUsage = await kept('rejected', { kind: 'day', prefix: 'rejected' });
  const quarantineUsage = await kept('quarantine', { kind: 'quarantine' });
  const dead = await countNdjson(join(spoolDir, 'dead'), (entry) => {
    const e = entry as { reason?: unknown; version?: unknown };
    if (typeof e.version === 'number' && e.version > 1) return 'newer-format';
    return /^(ERR_[A-Z_]+)/.exec(String(e.reason ?? ''))?.[1] ?? 'unknown';
  });
  const notifications = dead.files.filter((f) => isNotifyDeadFile(f.name)).reduce((n, f) => n + f.alerts, 0);
  const rejected = await countNdjson(join(spoolDir, 'rejected'));
  const requeue = await list(join(spoolDir, 'requeue'));
  const incoming = (await list(join(spoolDir, 'incoming'))).filter((n) => n.endsWith('.rec')).length;
  const states = await loadStates(spoolDir);
  const stateBytes = (await stat(join(alertsDir(spoolDir), 'state.ndjson')).catch(() => null))?.size ?? 0;
  const drop = options.dropDir === undefined ? null : { dir: options.dropDir, waiting: (await list(options.dropDir)).filter(isDropName).length };
  const { files: _deadFiles, ...deadKept } = deadUsage;
  const { files: _rejectedFiles, ...rejectedKept } = rejectedUsage;
  const { files: _quarantineFiles, ...quarantineKept } = quarantineUsage;
  return {
    dir: spoolDir,
    queue: {
      records: q.records,
      bytes: q.bytes,
      segments: q.segments,
      oldestTime: q.oldestTime === null ? null : new Date(q.oldestTime).toISOString(),
      oldestAgeSeconds: q.oldestTime === null ? null : Math.max(0, Math.round((now - q.oldestTime) / 1000)),
      corrupt: q.corrupt,
      torn: q.torn,
    },
    dead: { ...deadKept, total: dead.total - notifications, notifications, byCode: dead.byKey, files: dead.files },
    notify: await outbox(spoolDir),
    rejected: { ...rejectedKept, total: rejected.total, files: rejected.files.length },
    quarantine: { ...quarantineKept, mails: quarantineUsage.files },
    requeue: { requests: requeue.filter((n) => n.startsWith('request-')).length, inProgress: requeue.filter((n) => n.startsWith('work-')).length },
    incoming: { alerts: incoming },
    alerts: { keys: states.length, bytes: stateBytes },
    drop,
  };
}

/** The report as the operator reads it. */
export function formatReport(r: SpoolReport): string {
  const age = r.queue.oldestAgeSeconds === null ? '' : `, oldest ${duration(r.queue.oldestAgeSeconds)} old (${r.queue.oldestTime})`;
  const lines = [
    `spool ${r.dir}`,
    `  queue:      ${r.queue.records} alerts waiting for delivery, ${mib(r.queue.bytes)} in ${r.queue.segments} segment files${age}`,
  ];
  if (r.queue.corrupt + r.queue.torn > 0) lines.push(`              ${r.queue.corrupt} corrupt and ${r.queue.torn} torn records skipped (a crash cut a write short, or the disk is failing)`);
  const codes = Object.entries(r.dead.byCode).map(([code, n]) => `${n} ${code}`).join(', ');
  const notes = r.dead.notifications > 0 ? ` and ${r.dead.notifications} notifications` : '';
  lines.push(`  dead:       ${r.dead.total} alerts${notes} in ${r.dead.files.length} files${codes ? ` (${codes})` : ''}`, budget(r.dead, 'dead'));
  for (const f of r.dead.files) lines.push(`              dead/${f.name}: ${f.alerts}`);
  lines.push(`  rejected:   ${r.rejected.total} lines in ${r.rejected.files} files`, budget(r.rejected, 'rejected'));
  lines.push(`  quarantine: ${r.quarantine.mails} mails`, budget(r.quarantine, 'quarantine'));
  lines.push(`  alerts:     ${r.alerts.keys} keys whose alert tracehive updates (tracehive alerts list), ${mib(r.alerts.bytes)} in alerts/state.ndjson`);
  if (r.notify.waiting + r.notify.sent + r.notify.unreadable > 0) {
    const unreadable = r.notify.unreadable > 0 ? `, ${r.notify.unreadable} unreadable (damaged or of a newer release)` : '';
    lines.push(`  notify:     ${r.notify.waiting} notifications waiting to be sent, ${r.notify.sent} sent (kept 7 days: once per alert and severity)${unreadable}`);
  }
  if (r.drop && r.drop.waiting > 0) lines.push(`  drop:       ${r.drop.waiting} mails in ${r.drop.dir} waiting for tracehive serve`);
  if (r.incoming.alerts > 0) lines.push(`  incoming:   ${r.incoming.alerts} mails left by tracehive 0.1.0 in spool.dir/incoming/, taken at serve's next start`);
  if (r.requeue.requests + r.requeue.inProgress > 0) lines.push(`  requeue:    ${r.requeue.requests} requests waiting for tracehive serve, ${r.requeue.inProgress} files being requeued`);
  if (r.dead.total > 0) lines.push('', 'Read a dead letter\'s reason, status and body, fix the cause (TheHive field, permission, dataType), then: tracehive spool requeue-dead');
  if (r.dead.notifications > 0) lines.push('', 'Dead notifications (dead/notify-*.ndjson) say why the relay or webhook refused them; fix notify.*, then: tracehive spool requeue-dead');
  return `${lines.join('\n')}\n`;
}

/** `              3.2 MiB of 256.0 MiB (spool.dead.maxBytes), oldest 2026-12-01T…, kept 30 days`. */
function budget(k: KeptReport, dir: string): string {
  const cap = k.maxBytes === null ? '' : ` of ${mib(k.maxBytes)} (spool.${dir}.maxBytes)${k.maxBytes > 0 && k.bytes > k.maxBytes ? ' — OVER' : ''}`;
  const oldest = k.oldestTime === null ? '' : `, oldest ${k.oldestTime}`;
  const kept = k.retentionDays === null ? '' : k.retentionDays === 0 ? ', kept forever' : `, kept ${k.retentionDays} days`;
  return `              ${mib(k.bytes)}${cap}${oldest}${kept}`;
}

/** Counts the outbox's records: waiting (a channel still to send) or sent (a marker). */
async function outbox(spoolDir: string): Promise<{ waiting: number; sent: number; unreadable: number }> {
  const dir = notifyDir(spoolDir);
  let waiting = 0;
  let sent = 0;
  let unreadable = 0;
  for (const name of (await list(dir)).filter((n) => n.endsWith('.json'))) {
    const handle = await openPrivate(join(dir, name), 'read').catch(() => null);
    if (handle === null) continue;
    const text = await handle.readFile('utf8').finally(() => handle.close());
    const parsed = parseRecord(text);
    if (!parsed.ok) unreadable++;
    else if (pendingChannels(parsed.record).length > 0) waiting++;
    else sent++;
  }
  return { waiting, sent, unreadable };
}

async function list(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

async function countNdjson(dir: string, keyOf?: (entry: unknown) => string): Promise<{ total: number; byKey: Record<string, number>; files: { name: string; alerts: number }[] }> {
  const files: { name: string; alerts: number }[] = [];
  const byKey: Record<string, number> = {};
  let total = 0;
  for (const name of (await list(dir)).filter((n) => n.endsWith('.ndjson'))) {
    let alerts = 0;
    // Never through a link planted there: skipped (the operator runs this, possibly as root).
    const handle = await openPrivate(join(dir, name), 'read').catch(() => null);
    if (handle === null) continue;
    for await (const line of handle.createReadStream().pipe(split2())) {
      if ((line as string).trim() === '') continue;
      alerts += 1;
      if (keyOf) {
        let key = 'unreadable';
        try {
          key = keyOf(JSON.parse(line as string));
        } catch {
          // counted as unreadable
        }
        byKey[key] = (byKey[key] ?? 0) + 1;
      }
    }
    files.push({ name, alerts });
    total += alerts;
  }
  return { total, byKey, files };
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

function duration(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}
