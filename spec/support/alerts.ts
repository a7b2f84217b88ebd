/** A valid TheHive 5 alert body for tests of the queue and the sinks; `over` replaces fields. */
import type { Alert } from '../../src/types.js';

export function testAlert(sourceRef = 'ct-0123456789abcdef0123', over: Partial<Alert> = {}): Alert {
  return {
    type: 'cybertrace',
    source: 'CyberTrace',
    sourceRef,
    title: 'Malicious URL: evil.example/x',
    description: 'd',
    severity: 2,
    date: 1700000000000,
    tags: ['cybertrace'],
    tlp: 2,
    pap: 2,
    observables: [{ dataType: 'url', data: 'http://evil.example/x', ioc: true }],
    ...over,
  };
}
