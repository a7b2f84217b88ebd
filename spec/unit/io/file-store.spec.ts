/** io/file-store.ts on a real directory: content-addressed, reference-counted by hard links, 0600, swept. */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, ORPHAN_AGE_MS } from '../../../src/io/file-store.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const A = Buffer.from('attachment A');
const B = Buffer.from('attachment B');
const MAIL1 = '11'.repeat(16);
const MAIL2 = '22'.repeat(16);

describe('io/file-store (issue 13)', () => {
  let dir: string;
  let store: FileStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'file-store-'));
    store = new FileStore(join(dir, 'files'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('keeps one copy of a content however many mails hold it; deletes it with the last reference', async () => {
    await store.put(MAIL1, [{ sha256: sha(A), content: A }, { sha256: sha(B), content: B }]);
    await store.put(MAIL2, [{ sha256: sha(A), content: A }]);
    expect(await store.usage()).to.deep.equal({ files: 2, bytes: A.length + B.length });
    expect(await readFile(store.path(sha(A)))).to.deep.equal(A);
    await store.release(MAIL1, [sha(A), sha(B)]);
    // B had only mail 1; A is still mail 2's.
    expect(await store.size(sha(B))).to.equal(null);
    expect(await store.size(sha(A))).to.equal(A.length);
    await store.release(MAIL2, [sha(A)]);
    expect(await readdir(join(dir, 'files'))).to.deep.equal([]);
  });

  it('the same mail put twice holds one reference: one release frees it', async () => {
    await store.put(MAIL1, [{ sha256: sha(A), content: A }]);
    await store.put(MAIL1, [{ sha256: sha(A), content: A }]);
    await store.release(MAIL1, [sha(A)]);
    expect(await store.size(sha(A))).to.equal(null);
  });

  it('files are 0600 in a 0700 directory (mails hold personal data)', async () => {
    await store.put(MAIL1, [{ sha256: sha(A), content: A }]);
    expect((await stat(join(dir, 'files'))).mode & 0o777).to.equal(0o700);
    expect((await stat(store.path(sha(A)))).mode & 0o777).to.equal(0o600);
  });

  it('sweeps contents nobody refers to once an hour old (a crash before the spool record), and .tmp leftovers; keeps the rest', async () => {
    await store.put(MAIL1, [{ sha256: sha(A), content: A }]);
    const orphan = join(dir, 'files', sha(B));
    await writeFile(orphan, B);
    await writeFile(join(dir, 'files', `${sha(B)}.tmp`), 'half');
    const old = new Date(Date.now() - ORPHAN_AGE_MS - 1000);
    for (const name of await readdir(join(dir, 'files'))) await utimes(join(dir, 'files', name), old, old);
    expect(await store.sweep()).to.equal(2);
    expect(await store.size(sha(A))).to.equal(A.length);
    expect(await store.size(sha(B))).to.equal(null);
  });

  it('refuses names that are not digests (nothing outside the directory can be named)', () => {
    expect(() => store.path('../../etc/passwd')).to.throw(TypeError);
    expect(() => store.put('../x', [])).to.throw(TypeError);
  });
});
