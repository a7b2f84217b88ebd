/**
 * One DATA collected within maxBytes and the shared budget, fed through a stream as smtp-server
 * feeds it: what is kept, what is dropped, and that the budget is always given back.
 */
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { ByteBudget } from '../../../src/net/byte-budget.js';
import { receiveMail } from '../../../src/sources/smtp-data.js';

function feed(stream: PassThrough, chunks: number[]): void {
  for (const [i, n] of chunks.entries()) stream.write(Buffer.alloc(n, 97 + i));
  stream.end();
}

describe('sources/smtp-data', () => {
  it('keeps a mail that fits, holding its bytes in the budget until the caller gives them back', async () => {
    const budget = new ByteBudget(100);
    const stream = new PassThrough();
    const got = receiveMail(stream, 80, budget, 0);
    feed(stream, [30, 20]);
    const r = await got;
    expect(r.kind).to.equal('mail');
    if (r.kind !== 'mail') return;
    expect(r.raw.toString()).to.equal('a'.repeat(30) + 'b'.repeat(20));
    expect(r.reserved).to.equal(50);
    expect(budget.used).to.equal(50);
  });

  it('drops an undeclared mail once it would go over the budget, reads it to its end, and gives its bytes back', async () => {
    const budget = new ByteBudget(100);
    budget.take(60);
    const stream = new PassThrough();
    const got = receiveMail(stream, 80, budget, 0);
    feed(stream, [30, 30, 20]);
    expect(await got).to.deep.equal({ kind: 'over-budget', bytes: 80 });
    expect(budget.used).to.equal(60);
  });

  it('takes a declared mail\'s bytes as they arrive, not its declared SIZE: a trickling client holds only what it sent', async () => {
    const budget = new ByteBudget(100);
    const stream = new PassThrough();
    const got = receiveMail(stream, 80, budget, 70);
    expect(budget.used, 'nothing reserved for a SIZE alone').to.equal(0);
    stream.write(Buffer.alloc(5, 97));
    await new Promise((r) => setImmediate(r));
    expect(budget.used).to.equal(5);
    // Another mail can still come in meanwhile.
    expect(budget.take(90)).to.equal(true);
    budget.give(90);
    stream.write(Buffer.alloc(35, 98));
    stream.end();
    const r = await got;
    expect(r.kind === 'mail' && r.reserved).to.equal(40);
    expect(budget.used).to.equal(40);
  });

  it('refuses a declared SIZE that does not fit before reading a byte into memory', async () => {
    const budget = new ByteBudget(100);
    budget.take(50);
    const stream = new PassThrough();
    const got = receiveMail(stream, 80, budget, 60);
    expect(budget.used).to.equal(50);
    feed(stream, [60]);
    expect(await got).to.deep.equal({ kind: 'over-budget', bytes: 60 });
  });

  it('drops a mail over maxBytes (552) and gives its bytes back', async () => {
    const budget = new ByteBudget(1000);
    const stream = new PassThrough();
    const got = receiveMail(stream, 80, budget, 0);
    feed(stream, [50, 50]);
    expect(await got).to.deep.equal({ kind: 'too-big', bytes: 100 });
    expect(budget.used).to.equal(0);
  });

  it('rejects when the stream breaks off, with the budget given back', async () => {
    const budget = new ByteBudget(100);
    const stream = new PassThrough();
    const got = receiveMail(stream, 80, budget, 0);
    stream.write(Buffer.alloc(30));
    await new Promise((resolve) => setImmediate(resolve));
    expect(budget.used).to.equal(30);
    stream.destroy(new Error('Connection closed before the message was received in full'));
    await got.then(
      () => expect.fail('resolved'),
      (err: Error) => expect(err.message).to.match(/closed before/),
    );
    expect(budget.used).to.equal(0);
  });
});
