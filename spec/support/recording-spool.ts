/**
 * A spool stand-in for tests of what appends records (mail intake, requeue): keeps every payload
 * appended and how many of them a commit made "durable".
 */
import type { MailSpool } from '../../src/mail-pipeline.js';

export class RecordingSpool implements MailSpool {
  readonly appended: string[] = [];
  /** Payloads covered by the last commit(). */
  committed = 0;
  closed = false;
  readonly full = false;

  append(payload: string): number {
    this.appended.push(payload);
    return this.appended.length;
  }

  whenSpace(): Promise<void> {
    return Promise.resolve();
  }

  async commit(): Promise<void> {
    this.committed = this.appended.length;
  }
}
