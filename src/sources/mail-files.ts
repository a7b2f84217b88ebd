/**
 * `tracehive ingest`: mails from `.eml` files and directories, or one mail from stdin (an MTA
 * pipe: Postfix `pipe`, an aliases entry `|tracehive ingest`). Each mail is handed whole to an
 * {@link IngestTarget} (the drop directory, where serve parses and maps it); the outcome of every
 * input is reported, and {@link ingestExitCode} turns them into the sysexits code an MTA
 * understands: 75 makes it keep the mail and retry, 65/66 make it bounce, 0 means kept.
 *
 * A leading mbox `From ` line (what an MTA pipe or an mbox export puts before the headers) is
 * an envelope line, not part of the RFC 5322 message: it is dropped before the mail is kept.
 * Everything else goes through unchanged.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { MailOrigin } from './mail-intake.js';

/** Where ingest keeps mails for serve: the drop directory (queue/drop-writer.ts). */
export interface IngestTarget {
  /** Keeps one mail durably; resolves with the name it is kept under; rejects when it cannot now (ENOSPC…). */
  keep(raw: Buffer, origin: MailOrigin): Promise<string>;
}

/** sysexits.h: every mail was kept for serve. */
export const EX_OK = 0;
/** sysexits.h: the input is not acceptable (a mail larger than `maxBytes`): the MTA bounces it. */
export const EX_DATAERR = 65;
/** sysexits.h: an input file could not be read (or a directory held no `.eml`). */
export const EX_NOINPUT = 66;
/** sysexits.h: a mail could not be kept now (disk full, I/O error): the MTA retries. */
export const EX_TEMPFAIL = 75;

/** How to read the inputs. */
export interface IngestOptions {
  /** Larger mails are not handed on (outcome `too-large`). @default 26214400 */
  readonly maxBytes?: number;
  /** Receives one line per input (debug when kept, warn otherwise). */
  readonly log?: Logger;
}

/** What became of one input. */
export type IngestResult =
  /** In the drop directory under the name `file`: serve parses, maps and spools (or quarantines) it. */
  | { readonly origin: MailOrigin; readonly outcome: 'kept'; readonly file: string }
  /** Not kept, for now: try again later (EX_TEMPFAIL). */
  | { readonly origin: MailOrigin; readonly outcome: 'not-kept'; readonly reason: string }
  /** Missing, unreadable, a directory without `.eml`, or empty stdin (EX_NOINPUT). */
  | { readonly origin: MailOrigin; readonly outcome: 'unreadable'; readonly reason: string }
  /** Larger than `maxBytes` (EX_DATAERR). */
  | { readonly origin: MailOrigin; readonly outcome: 'too-large'; readonly reason: string };

/** Every input's result, in order, and the counts a summary line needs. */
export interface IngestSummary {
  readonly results: readonly IngestResult[];
  readonly kept: number;
  /** Inputs that were not kept, whatever the reason. */
  readonly failed: number;
}

const DEFAULT_MAX_BYTES = 25 * 1024 * 1024;

/**
 * Ingests files one after the other; a directory stands for the `*.eml` files directly in it
 * (not its subdirectories), in name order. Never throws for a bad input: it is a result.
 */
export async function ingestFiles(paths: readonly string[], target: IngestTarget, opts: IngestOptions = {}): Promise<IngestSummary> {
  const results: IngestResult[] = [];
  for (const path of paths) {
    const files = await expand(path);
    if (!Array.isArray(files)) {
      results.push(report(files, opts.log));
      continue;
    }
    for (const file of files) results.push(report(await ingestFile(file, target, opts.maxBytes ?? DEFAULT_MAX_BYTES), opts.log));
  }
  return summarize(results);
}

/** Ingests the one mail on `stream` (the MTA pipe), read to its end with a bounded buffer. */
export async function ingestStdin(stream: Readable, target: IngestTarget, opts: IngestOptions = {}): Promise<IngestResult> {
  const origin: MailOrigin = { via: 'stdin', id: 'stdin' };
  const max = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of stream) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      bytes += buf.length;
      // Past the limit the rest is read and dropped, so the MTA's write does not fail with EPIPE.
      if (bytes <= max) chunks.push(buf);
      else chunks.length = 0;
    }
  } catch (err) {
    return report({ origin, outcome: 'not-kept', reason: `reading stdin failed: ${(err as Error).message}` }, opts.log);
  }
  if (bytes > max) return report(tooLarge(origin, bytes, max), opts.log);
  if (bytes === 0) return report({ origin, outcome: 'unreadable', reason: 'no mail on stdin' }, opts.log);
  return report(await hand(Buffer.concat(chunks, bytes), origin, target), opts.log);
}

/**
 * The exit code for a run: 75 when any mail could not be kept now (retrying is worth it, and
 * already kept mails are harmless to send again), else 66 for an unreadable input, else 65 for
 * one too large, else 0.
 */
export function ingestExitCode(results: readonly IngestResult[]): number {
  const has = (outcome: IngestResult['outcome']): boolean => results.some((r) => r.outcome === outcome);
  if (has('not-kept')) return EX_TEMPFAIL;
  if (has('unreadable')) return EX_NOINPUT;
  if (has('too-large')) return EX_DATAERR;
  return EX_OK;
}

/** One line for the operator, e.g. `ingest: mail/a.eml: kept for tracehive serve as 001796…mail`. */
export function formatIngestResult(r: IngestResult): string {
  const what = r.outcome === 'kept' ? `kept for tracehive serve as ${r.file}` : r.outcome === 'not-kept' ? `not kept, try again later: ${r.reason}` : `${r.outcome}: ${r.reason}`;
  return `ingest: ${r.origin.id}: ${what}`;
}

/** The `.eml` files a path stands for, or the result that it cannot be read. */
async function expand(path: string): Promise<string[] | IngestResult> {
  const abs = resolve(path);
  try {
    if (!(await stat(abs)).isDirectory()) return [abs];
    const names = (await readdir(abs, { withFileTypes: true })).filter((e) => !e.isDirectory() && /\.eml$/i.test(e.name)).map((e) => e.name);
    if (names.length === 0) return { origin: { via: 'file', id: abs }, outcome: 'unreadable', reason: 'the directory holds no .eml file' };
    return names.sort().map((name) => join(abs, name));
  } catch (err) {
    return { origin: { via: 'file', id: abs }, outcome: 'unreadable', reason: (err as Error).message };
  }
}

async function ingestFile(file: string, target: IngestTarget, max: number): Promise<IngestResult> {
  const origin: MailOrigin = { via: 'file', id: file };
  let raw: Buffer;
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      if (size > max) return tooLarge(origin, size, max);
      raw = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (err) {
    return { origin, outcome: 'unreadable', reason: (err as Error).message };
  }
  // The file grew between stat and read.
  if (raw.length > max) return tooLarge(origin, raw.length, max);
  return hand(raw, origin, target);
}

/** Hands one mail to the target and turns its answer (or rejection) into a result. */
async function hand(raw: Buffer, origin: MailOrigin, target: IngestTarget): Promise<IngestResult> {
  try {
    return { origin, outcome: 'kept', file: await target.keep(stripMboxFromLine(raw), origin) };
  } catch (err) {
    return { origin, outcome: 'not-kept', reason: err instanceof Error ? err.message : String(err) };
  }
}

/** Drops a leading mbox `From sender date` line (not a `From:` header). */
export function stripMboxFromLine(raw: Buffer): Buffer {
  if (raw.length < 5 || raw.toString('latin1', 0, 5) !== 'From ') return raw;
  const eol = raw.indexOf(0x0a);
  return eol === -1 ? raw : raw.subarray(eol + 1);
}

function tooLarge(origin: MailOrigin, bytes: number, max: number): IngestResult {
  return { origin, outcome: 'too-large', reason: `ERR_MAIL_TOO_BIG: ${bytes} bytes, more than maxBytes (${max})` };
}

function report(result: IngestResult, log: Logger | undefined): IngestResult {
  if (log) {
    const fields = { origin: result.origin, outcome: result.outcome, ...('reason' in result ? { reason: result.reason } : { file: result.file }) };
    if (result.outcome === 'kept') log.debug(fields, 'Mail kept for tracehive serve.');
    else log.warn(fields, 'Mail not ingested.');
  }
  return result;
}

function summarize(results: IngestResult[]): IngestSummary {
  const kept = results.filter((r) => r.outcome === 'kept').length;
  return { results, kept, failed: results.length - kept };
}
