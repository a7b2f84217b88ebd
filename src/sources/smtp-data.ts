/**
 * One mail's DATA, collected within two bounds: email.smtp.maxBytes for the mail, and the
 * byte budget of every mail in flight (email.smtp.maxInflightBytes). Bytes are taken from the
 * budget as they arrive, never ahead: a client that declares SIZE=26000000 and then trickles
 * DATA holds only what it really sent, so three such sessions cannot lock every other mail out
 * (they could when the declared size was reserved up front). A declared SIZE that would not fit
 * now is refused at once. Past either bound the rest of the mail is read and dropped, never
 * buffered: smtp-server must see the stream end to answer, and the client learns the verdict
 * only then (552 or 452); a declared mail that met a full budget halfway is retried by its MTA.
 */
import type { Readable } from 'node:stream';
import type { ByteBudget } from '../net/byte-budget.js';

/** What became of one DATA. */
export type Received =
  /** The whole mail; `reserved` bytes were taken from the budget: give them back once the intake settled it. */
  | { readonly kind: 'mail'; readonly raw: Buffer; readonly reserved: number }
  /** Larger than maxBytes: dropped (answer 552). */
  | { readonly kind: 'too-big'; readonly bytes: number }
  /** Would have gone over the budget: dropped (answer 452, the client retries later). */
  | { readonly kind: 'over-budget'; readonly bytes: number };

/**
 * Reads `stream` to its end. Rejects when it broke off (the client went away); the budget is
 * then already given back, as it is for every outcome but `mail`.
 */
export function receiveMail(stream: Readable & { readonly sizeExceeded?: boolean }, maxBytes: number, budget: ByteBudget, declared: number): Promise<Received> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let reserved = 0;
    let tooBig = false;
    let over = declared > 0 && (declared > maxBytes || !budget.fits(declared));
    let settled = false;
    const drop = (): void => {
      chunks.length = 0;
      budget.give(reserved);
      reserved = 0;
    };
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (tooBig || over) return;
      if (bytes > maxBytes) {
        tooBig = true;
        return drop();
      }
      if (bytes > reserved) {
        if (!budget.take(bytes - reserved)) {
          over = true;
          return drop();
        }
        reserved = bytes;
      }
      chunks.push(chunk);
    });
    stream.once('end', () => {
      settled = true;
      if (tooBig || stream.sizeExceeded === true) {
        drop();
        return resolve({ kind: 'too-big', bytes });
      }
      if (over) return resolve({ kind: 'over-budget', bytes });
      const raw = Buffer.concat(chunks, bytes);
      chunks.length = 0;
      resolve({ kind: 'mail', raw, reserved });
    });
    const broken = (err?: Error): void => {
      if (settled) return;
      settled = true;
      drop();
      reject(err ?? new Error('The connection closed before the mail was received in full.'));
    };
    stream.once('error', broken);
    stream.once('close', () => broken());
  });
}
