/**
 * A spool stand-in for tests of what appends records (mail intake, requeue): keeps every payload
 * appended and how many of them a commit made "durable".
 */
import type { MailSpool } from '../../src/mail-pipeline.js';

export class RecordingSpool implements MailSpool {
  readonly appended: string[] = [];
  /** The receive time each payload was appended with. */
  readonly times: (number | undefined)[] = [];
  /** Payloads covered by the last commit(). */
  committed = 0;
  closed = false;
  readonly full = false;

  append(payload: string, time?: number): number {
    this.appended.push(payload);
    this.times.push(time);
    return this.appended.length;
  }

  whenSpace(): Promise<void> {
    return Promise.resolve();
  }

  async commit(): Promise<void> {
    this.committed = this.appended.length;
  }
}
