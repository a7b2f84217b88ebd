import { expect } from 'chai';
import { inputReadiness, type InputState } from '../../src/input-readiness.js';

const up: InputState = { spoolOpen: true, blocked: null, atMaxBytes: false, maxBytes: 1024, gateReasons: [], tcpEnabled: true, tcpListening: true, stopping: false };

describe('input-readiness (/readyz)', () => {
  it('is ready when the spool takes writes and the listener listens, whatever TheHive does', () => {
    expect(inputReadiness(up)).to.deep.equal({ ready: true, reasons: [] });
  });

  it('says each reason input is paused, with what to do', () => {
    const r = inputReadiness({ ...up, blocked: 'ENOSPC: data/spool/queue/seg-1.log', atMaxBytes: true, gateReasons: ['dead letters over spool.dead.maxBytes'], tcpListening: false });
    expect(r.ready).to.equal(false);
    expect(r.reasons).to.deep.equal([
      'the spool cannot be written (ENOSPC: data/spool/queue/seg-1.log): input is paused until a write succeeds; free space on the disk of spool.dir',
      'the spool is full (spool.maxBytes 1024): input is paused until deliveries free space',
      'dead letters over spool.dead.maxBytes',
      'the CyberTrace listener is not listening',
    ]);
  });

  it('before start and while stopping', () => {
    expect(inputReadiness({ ...up, spoolOpen: false }).reasons).to.deep.equal(['the spool is not open yet']);
    expect(inputReadiness({ ...up, spoolOpen: false, tcpListening: false, stopping: true }).reasons).to.deep.equal(['shutting down']);
    expect(inputReadiness({ ...up, tcpEnabled: false, tcpListening: false }).ready).to.equal(true);
  });
});
