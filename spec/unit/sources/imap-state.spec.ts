import { expect } from 'chai';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadImapState, saveImapState } from '../../../src/sources/imap-state.js';

describe('sources/imap-state', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'tracehive-imap-state-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('a missing file is empty state without a problem', async () => {
    const { mailboxes, problem } = await loadImapState(join(dir, 'nope.json'));
    expect(mailboxes.size).to.equal(0);
    expect(problem).to.equal(undefined);
  });

  it('saves atomically (mode 0600, no temporary file left, parent created) and loads back', async () => {
    const file = join(dir, 'sub', 'imap-state.json');
    await saveImapState(file, new Map([['INBOX', { uidValidity: '1700000000', lastUid: 42 }]]));
    expect((await stat(file)).mode & 0o777).to.equal(0o600);
    expect(await readdir(join(dir, 'sub'))).to.deep.equal(['imap-state.json']);
    expect(JSON.parse(await readFile(file, 'utf8'))).to.deep.equal({ version: 1, mailboxes: { INBOX: { uidValidity: '1700000000', lastUid: 42 } } });
    const { mailboxes } = await loadImapState(file);
    expect([...mailboxes]).to.deep.equal([['INBOX', { uidValidity: '1700000000', lastUid: 42 }]]);
  });

  it('garbage or another version is empty state with the problem named, not a throw', async () => {
    const file = join(dir, 'imap-state.json');
    await writeFile(file, '{"version":2,"mailboxes":{"INBOX":{"uidValidity":"1","lastUid":9}}}');
    expect((await loadImapState(file)).problem?.message).to.equal('unknown version 2');
    await writeFile(file, '{"vers');
    const { mailboxes, problem } = await loadImapState(file);
    expect(mailboxes.size).to.equal(0);
    expect(problem).to.be.instanceOf(Error);
  });

  it('skips a mailbox whose entry is malformed and keeps the others', async () => {
    const file = join(dir, 'imap-state.json');
    await writeFile(file, JSON.stringify({ version: 1, mailboxes: { INBOX: { uidValidity: '7', lastUid: 3 }, Junk: { uidValidity: 7, lastUid: 'x' } } }));
    expect([...(await loadImapState(file)).mailboxes.keys()]).to.deep.equal(['INBOX']);
  });
});
