import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { ERROR_CODES, BridgeError } from '../../src/errors.js';

describe('error-code catalogue', () => {
  it('has unique ERR_* codes, each documented by a sentence', () => {
    for (const [code, doc] of Object.entries(ERROR_CODES)) {
      expect(code).to.match(/^ERR_[A-Z0-9_]+$/);
      expect(doc, code).to.match(/^[A-Z`].*\.$/);
    }
  });

  it('lists every code in the README troubleshooting table', () => {
    const readme = readFileSync('README.md', 'utf8');
    for (const code of Object.keys(ERROR_CODES)) expect(readme, code).to.include(code);
  });

  it('carries code, message and cause', () => {
    const cause = new Error('inner');
    const err = new BridgeError('ERR_USAGE', 'bad', { cause });
    expect(err.code).to.equal('ERR_USAGE');
    expect(err.cause).to.equal(cause);
    expect(err).to.be.instanceOf(Error);
  });
});
