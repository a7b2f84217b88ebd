import { expect } from 'chai';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadImapState, saveImapState, stateKey, updateImapState } from '../../../src/sources/imap-state.js';

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

  it('keys a mailbox by its account: two accounts\' INBOX are two entries', () => {
    const a = stateKey({ user: 'soc@corp.example', host: 'Mail.Corp.example', port: 993 }, 'INBOX');
    const b = stateKey({ user: 'soc', host: 'mail.tenant-b.example', port: 993 }, 'INBOX');
    expect(a).to.equal('imap://soc%40corp.example@mail.corp.example:993/INBOX');
    expect(b).to.not.equal(a);
  });

  it('updates of one file by several sources at once keep every entry, the earlier release\'s too', async () => {
    const file = join(dir, 'imap-state.json');
    // What a release before email.imap.mailboxes wrote.
    await writeFile(file, JSON.stringify({ version: 1, mailboxes: { INBOX: { uidValidity: '7', lastUid: 3 } } }));
    const key = (mailbox: string): string => stateKey({ user: 'u', host: 'h', port: 143 }, mailbox);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => updateImapState(file, (m) => void m.set(key(`box${i % 4}`), { uidValidity: '1', lastUid: i }))),
    );
    const { mailboxes } = await loadImapState(file);
    expect([...mailboxes.keys()].sort()).to.deep.equal(['INBOX', key('box0'), key('box1'), key('box2'), key('box3')].sort());
    expect(mailboxes.get(key('box3'))?.lastUid).to.equal(19);
  });

  it('an update of an unreadable file starts from empty state and makes it readable again', async () => {
    const file = join(dir, 'imap-state.json');
    await writeFile(file, '{"vers');
    await updateImapState(file, (m) => void m.set('imap://u@h:1/INBOX', { uidValidity: '1', lastUid: 2 }));
    expect([...(await loadImapState(file)).mailboxes]).to.deep.equal([['imap://u@h:1/INBOX', { uidValidity: '1', lastUid: 2 }]]);
  });
});
