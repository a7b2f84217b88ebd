/**
 * The lifecycle's configuration (issue 12): its keys, and the aggregation keys it replaced, which
 * must say what to set instead rather than be silently ignored.
 */
import { expect } from 'chai';
import { loadConfig } from '../../src/config.js';

function failure(f: () => unknown): Error {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('configuration of the alert lifecycle', () => {
  it('is on by default: a 24 h window, category and matchedIndicator as the key, one update per 5 s', () => {
    const c = loadConfig({ env: {}, useDefaultFile: false });
    expect(c.alert).to.include({ updateWindowMs: 86_400_000, updateFlushMs: 5000, updateMaxKeys: 10_000 });
    expect(c.alert.updateKey).to.deep.equal(['category', 'matchedIndicator']);
    expect(c.thehive.api).to.equal('auto');
  });

  it('refuses the aggregation keys it replaced, naming what to set instead (file and environment)', () => {
    const fromFile = failure(() => loadConfig({ env: {}, useDefaultFile: false, overrides: { alert: { groupWindowMs: 60000 } } }));
    expect(fromFile.message).to.include('alert.groupWindowMs: replaced by the alert lifecycle').and.include('alert.updateWindowMs');
    const fromEnv = failure(() => loadConfig({ env: { TRACEHIVE_ALERT_GROUP_WINDOW_MS: '60000' }, useDefaultFile: false }));
    expect(fromEnv.message).to.include('TRACEHIVE_ALERT_GROUP_WINDOW_MS: replaced by the alert lifecycle').and.include('TRACEHIVE_ALERT_UPDATE_WINDOW_MS');
  });
});
