/**
 * Issue 13 point 2: a mail alert's files reach the stand-in TheHive 5 and 4 as TheHive takes them
 * (multipart create with `_json`; TheHive 4: create, then one multipart artifact per file), over
 * real HTTP, from a real file store on disk; idempotent on retry; the store is emptied once TheHive
 * has the files, and keeps them while it does not.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '../../../src/io/file-store.js';
import { createTheHiveSink, type TheHiveSink } from '../../../src/sinks/thehive.js';
import type { AlertOps } from '../../../src/lifecycle/types.js';
import type { Alert, Observable } from '../../../src/types.js';
import { testAlert } from '../../support/alerts.js';
import { startFakeTheHive, type FakeTheHive } from '../../support/fake-thehive.js';

const KEY = 'files-key';
const signal = new AbortController().signal;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
const EML = Buffer.from('From: a@sender-one.top\r\nSubject: hello\r\n\r\nbody\r\n');
const REF = 'ab'.repeat(16);

function fileObs(name: string, type: string, content: Buffer, tags: string[]): Observable {
  return { dataType: 'file', data: sha256(content), ioc: false, attachment: { name, contentType: type, size: content.length, sha256: sha256(content), ref: REF }, tags, message: `${name} as sent` };
}
const alertWithFiles = (ref: string): Alert => ({
  ...testAlert(ref),
  observables: [{ dataType: 'mail', data: 'a@sender-one.top', ioc: false }, fileObs('scan.pdf', 'application/pdf', PDF, ['attachment:scan.pdf', 'filetype:pdf']), fileObs('mail.eml', 'message/rfc822', EML, ['eml'])],
});

for (const version of [5, 4] as const) {
  describe(`sinks/thehive files on TheHive ${version} (issue 13)`, () => {
    let hive: FakeTheHive;
    let sink: TheHiveSink;
    let dir: string;
    let store: FileStore;
    beforeEach(async () => {
      hive = await startFakeTheHive({ apiKey: KEY, version });
      dir = await mkdtemp(join(tmpdir(), 'th-files-'));
      store = new FileStore(join(dir, 'files'));
      await store.put(REF, [{ sha256: sha256(PDF), content: PDF }, { sha256: sha256(EML), content: EML }]);
      sink = createTheHiveSink({ url: hive.url, apiKey: KEY, organisation: '', api: 'auto', tlsVerify: true, timeoutMs: 5000, files: store });
    });
    afterEach(async () => {
      await sink.close();
      await hive.close();
      await rm(dir, { recursive: true, force: true });
    });

    const stored = (ref: string): Array<[string, string, number, string | undefined, string[]]> =>
      (hive.alert(ref)?.observables ?? []).filter((o) => o.dataType === 'file').map((o) => [o.attachment?.name ?? '', o.attachment?.contentType ?? '', o.attachment?.size ?? 0, o.attachment?.hashes?.[0], o.tags]);

    it('the alert arrives with both files, their bytes intact (TheHive\'s own SHA-256), and the store is emptied', async () => {
      const out = await sink.send([{ sourceRef: 'f-1', body: sink.encode(alertWithFiles('f-1')) }], signal);
      expect(out).to.deep.equal({ kind: 'delivered' });
      expect(stored('f-1')).to.deep.equal([
        ['scan.pdf', 'application/pdf', PDF.length, sha256(PDF), ['attachment:scan.pdf', 'filetype:pdf']],
        ['mail.eml', 'message/rfc822', EML.length, sha256(EML), ['eml']],
      ]);
      expect(hive.alert('f-1')?.observables.map((o) => o.dataType)).to.deep.equal(version === 5 ? ['mail', 'file', 'file'] : ['mail', 'file', 'file']);
      const paths = hive.requests.filter((r) => r.method === 'POST').map((r) => r.path);
      const id = hive.alert('f-1')?._id ?? '';
      // 5: one multipart create; 4: the alert, then one multipart artifact per file.
      expect(paths).to.deep.equal(version === 5 ? ['/api/v1/alert'] : ['/api/alert', `/api/alert/${id}/artifact`, `/api/alert/${id}/artifact`]);
      expect(await readdir(join(dir, 'files'))).to.deep.equal([]);
    });

    it('a retry after a lost answer adds nothing twice: still one alert with two files', async () => {
      // The create is taken, then its answer lost (§4.4); the queue sends the alert again.
      hive.fault({ kind: 'accept-then-fail', status: 502 });
      const first = await sink.send([{ sourceRef: 'f-2', body: sink.encode(alertWithFiles('f-2')) }], signal);
      expect(first.kind).to.equal('retry');
      expect(await readdir(join(dir, 'files'))).to.have.length.greaterThan(0); // kept: TheHive's answer never came
      const again = await sink.send([{ sourceRef: 'f-2', body: sink.encode(alertWithFiles('f-2')) }], signal);
      expect(again.kind).to.equal('delivered');
      expect(hive.alerts).to.have.length(1);
      expect(stored('f-2').map((s) => s[0])).to.deep.equal(['scan.pdf', 'mail.eml']);
    });

    it('a file added to an existing alert (an update) goes by multipart too; sent twice, it is there once', async () => {
      const ops = sink.ops as AlertOps;
      const created = await ops.create({ ...testAlert('f-3'), observables: [] }, signal);
      if (created.kind !== 'ok') throw new Error(`create: ${JSON.stringify(created)}`);
      const pdf = fileObs('scan.pdf', 'application/pdf', PDF, ['attachment:scan.pdf']);
      expect(await ops.addObservables(created.value.id, [pdf], signal)).to.deep.equal({ kind: 'ok', value: { added: 1, existed: 0 } });
      await store.put(REF, [{ sha256: sha256(PDF), content: PDF }]);
      expect(await ops.addObservables(created.value.id, [pdf], signal)).to.deep.equal({ kind: 'ok', value: { added: 0, existed: 1 } });
      expect(stored('f-3').map((s) => s[3])).to.deep.equal([sha256(PDF)]);
    });

    it('a file gone from the store (deleted by hand) is left out; the alert still arrives', async () => {
      await store.release(REF, [sha256(PDF)]);
      const out = await sink.send([{ sourceRef: 'f-4', body: sink.encode(alertWithFiles('f-4')) }], signal);
      expect(out.kind).to.equal('delivered');
      expect(stored('f-4').map((s) => s[0])).to.deep.equal(['mail.eml']);
    });
  });
}

describe('stand-in TheHive 5: multipart checks as TheHive makes them', () => {
  let hive: FakeTheHive;
  beforeEach(async () => {
    hive = await startFakeTheHive({ apiKey: KEY });
  });
  afterEach(() => hive.close());

  async function post(form: FormData): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${hive.url}/api/v1/alert`, { method: 'POST', headers: { Authorization: `Bearer ${KEY}` }, body: form });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const alertJson = (observables: unknown[]): string => JSON.stringify({ type: 't', source: 's', sourceRef: `r-${observables.length}-${Math.random()}`, title: 'x', description: 'y', observables });

  it('a file observable naming a part that is not there: 400, nothing created', async () => {
    const form = new FormData();
    form.append('_json', alertJson([{ dataType: 'file', attachment: 'file0' }]));
    const { status, body } = await post(form);
    expect([status, body['type']]).to.deep.equal([400, 'BadRequest']);
    expect(hive.alerts).to.have.length(0);
  });

  it('text data for a file, or a part for a text type: 400 with TheHive\'s words', async () => {
    const f1 = new FormData();
    f1.append('_json', alertJson([{ dataType: 'file', data: 'x' }]));
    expect((await post(f1)).body['message']).to.equal("A attachment observable doesn't accept string value");
    const f2 = new FormData();
    f2.append('_json', alertJson([{ dataType: 'ip', attachment: 'file0' }]));
    f2.append('file0', new Blob([PDF]), 'a.pdf');
    expect((await post(f2)).body['message']).to.equal("A text observable doesn't accept attachment");
  });

  it('no _json part: every required field is missing (400 AttributeCheckingError)', async () => {
    const form = new FormData();
    form.append('file0', new Blob([PDF]), 'a.pdf');
    const { status, body } = await post(form);
    expect([status, body['type']]).to.deep.equal([400, 'AttributeCheckingError']);
  });
});
