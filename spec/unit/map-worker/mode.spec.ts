/** Issue 15, `tcp.mapWorker`: where the listener's lines are mapped, and why (logged at start). */
import { expect } from 'chai';
import { mapModeOf } from '../../../src/map-worker/mode.js';

const base = { setting: 'auto', cores: 2, lifecycle: false, wire: true } as const;

describe('mapModeOf (tcp.mapWorker)', () => {
  it('maps on the worker with auto on more than one core, or when on', () => {
    expect(mapModeOf(base)).to.deep.equal({ where: 'worker', why: 'tcp.mapWorker is auto and this machine has 2 cores' });
    expect(mapModeOf({ ...base, setting: 'on', cores: 1 }).where).to.equal('worker');
  });

  it('maps as the feeder reads when off, on one core with auto, with the lifecycle on, or for TheHive 4 bodies', () => {
    expect(mapModeOf({ ...base, setting: 'off' })).to.deep.equal({ where: 'feeder', why: 'tcp.mapWorker is off' });
    expect(mapModeOf({ ...base, cores: 1 }).why).to.equal('tcp.mapWorker is auto and this machine has 1 core');
    expect(mapModeOf({ ...base, setting: 'on', lifecycle: true }).why).to.match(/alert lifecycle is on/);
    expect(mapModeOf({ ...base, setting: 'on', wire: false }).why).to.match(/thehive.api is v0/);
  });
});
