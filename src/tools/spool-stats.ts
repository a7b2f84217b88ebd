/**
 * `tracehive spool stats`: what waits in spool.dir, read from the files alone (safe while serve
 * runs: it never writes and takes no lock). Depth and age of the queue, dead letters by code
 * and day, rejected lines, quarantined mails, requeue requests waiting for serve.
 */
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import split2 from 'split2';
import { inspectSpool } from '../queue/spool.js';

export interface SpoolReport {
  readonly dir: string;
  readonly queue: { readonly records: number; readonly bytes: number; readonly segments: number; readonly oldestTime: string | null; readonly oldestAgeSeconds: number | null; readonly corrupt: number; readonly torn: number };
  readonly dead: { readonly total: number; readonly byCode: Record<string, number>; readonly files: { readonly name: string; readonly alerts: number }[] };
  readonly rejected: { readonly total: number; readonly files: number };
  readonly quarantine: { readonly mails: number };
  readonly requeue: { readonly requests: number; readonly inProgress: number };
  /** Mails left by `tracehive ingest` that serve has not moved into the queue yet. */
  readonly incoming: { readonly alerts: number };
}

export async function spoolReport(spoolDir: string, now: number = Date.now()): Promise<SpoolReport> {
  const q = await inspectSpool(join(spoolDir, 'queue'));
  const dead = await countNdjson(join(spoolDir, 'dead'), (entry) => /^(ERR_[A-Z_]+)/.exec(String((entry as { reason?: unknown }).reason ?? ''))?.[1] ?? 'unknown');
  const rejected = await countNdjson(join(spoolDir, 'rejected'));
  const quarantined = (await list(join(spoolDir, 'quarantine'))).filter((n) => n.endsWith('.eml')).length;
  const requeue = await list(join(spoolDir, 'requeue'));
  const incoming = (await list(join(spoolDir, 'incoming'))).filter((n) => n.endsWith('.rec')).length;
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
    dead: { total: dead.total, byCode: dead.byKey, files: dead.files },
    rejected: { total: rejected.total, files: rejected.files.length },
    quarantine: { mails: quarantined },
    requeue: { requests: requeue.filter((n) => n.startsWith('request-')).length, inProgress: requeue.filter((n) => n.startsWith('work-')).length },
    incoming: { alerts: incoming },
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
  lines.push(`  dead:       ${r.dead.total} alerts in ${r.dead.files.length} files${codes ? ` (${codes})` : ''}`);
  for (const f of r.dead.files) lines.push(`              dead/${f.name}: ${f.alerts}`);
  lines.push(`  rejected:   ${r.rejected.total} lines in ${r.rejected.files} files`);
  lines.push(`  quarantine: ${r.quarantine.mails} mails`);
  if (r.incoming.alerts > 0) lines.push(`  incoming:   ${r.incoming.alerts} mails from tracehive ingest, waiting for tracehive serve to take them`);
  if (r.requeue.requests + r.requeue.inProgress > 0) lines.push(`  requeue:    ${r.requeue.requests} requests waiting for tracehive serve, ${r.requeue.inProgress} files being requeued`);
  if (r.dead.total > 0) lines.push('', 'Read a dead letter\'s reason, status and body, fix the cause (TheHive field, permission, dataType), then: tracehive spool requeue-dead');
  return `${lines.join('\n')}\n`;
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
    for await (const line of createReadStream(join(dir, name)).pipe(split2())) {
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
