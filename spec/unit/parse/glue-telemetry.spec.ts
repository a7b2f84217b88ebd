/**
 * Glued context fields are repaired but must not go unnoticed: every split field is counted,
 * and the operator is told the fix at most once a minute, however many lines arrive glued.
 */
import { expect } from 'chai';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { Writable } from 'node:stream';
import { GlueTelemetry } from '../../../src/glue-telemetry.js';
import { parseLine } from '../../../src/parse/kv.js';
import type { CyberTraceRecord } from '../../../src/types.js';

const GLUED = 'Oct 12 16:14:02 category=KL_Malicious_URL matchedIndicator=fakess123.nu usrName=jsmithmask=fakess123.nutype=1popularity=5';
const PLAIN = 'Oct 12 16:14:02 category=KL_Malicious_URL matchedIndicator=fakess123.nu usrName=jsmith mask=fakess123.nu type=1 popularity=5';

function rec(line: string): CyberTraceRecord {
  const r = parseLine(line);
  if (!r.ok) throw new Error(r.code);
  return r.value;
}

describe('glued context fields: counter and once-a-minute warning', () => {
  let logs: { level: number; msg: string; lines?: number }[];
  let clock: number;
  let registry: Registry;
  let glue: GlueTelemetry;

  beforeEach(() => {
    logs = [];
    clock = 1_000_000;
    registry = new Registry();
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { logs.push(JSON.parse(chunk.toString())); done(); } });
    glue = new GlueTelemetry(pino({ level: 'info' }, sink), registry, () => clock);
  });

  async function counted(): Promise<number> {
    const m = await registry.getSingleMetric('tracehive_glued_fields_total')?.get();
    return m?.values[0]?.value ?? 0;
  }

  it('counts each split field and warns once per minute, naming RecordFieldContextFormat and its leading blank', async () => {
    for (let i = 0; i < 5; i++) glue.parsed(rec(GLUED).glued ?? 0);
    await new Promise((r) => setImmediate(r));
    expect(await counted()).to.equal(15);
    expect(logs).to.have.length(1);
    expect(logs[0]?.level).to.equal(40);
    expect(logs[0]?.msg).to.contain('RecordFieldContextFormat').and.contain('leading blank');
    clock += 60_000;
    glue.parsed(rec(GLUED).glued ?? 0);
    await new Promise((r) => setImmediate(r));
    expect(logs).to.have.length(2);
    expect(logs[1]?.lines, 'lines glued since the last warning').to.equal(5);
  });

  it('says nothing about a correct line', async () => {
    glue.parsed(rec(PLAIN).glued ?? 0);
    await new Promise((r) => setImmediate(r));
    expect(await counted()).to.equal(0);
    expect(logs).to.have.length(0);
  });
});
