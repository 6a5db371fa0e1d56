// Unit tests of LensError's identity (src/core/errors.ts): an error made by another copy of the module (the panel's
// starter and its script are separate bundles) is a LensError all the same, keeps its code on the wire, and passes
// the "cancelled" and "disposed" checks; a subclass still checks as a subclass; an Error is not a LensError.

import * as assert from 'assert';
import { createRequire } from 'module';
import { LensError, toErrorPayload } from '../../src/core/errors';

/** A fresh copy of the errors module, as a second bundle would hold it (loaded anew, then the cache restored). */
function secondCopy(): typeof import('../../src/core/errors') {
  const load = createRequire(__filename);
  const file = load.resolve('../../src/core/errors');
  const first = load.cache[file];
  delete load.cache[file];
  try {
    return load(file) as typeof import('../../src/core/errors');
  } finally {
    if (first) load.cache[file] = first;
  }
}

describe('LensError across copies of its module', () => {
  it('takes an error of another copy as a LensError, with its code', () => {
    const other = secondCopy();
    assert.notStrictEqual(other.LensError, LensError, 'a second class');
    const err: unknown = new other.LensError('cancelled', 'superseded');
    assert.ok(err instanceof LensError);
    assert.ok(new LensError('disposed', 'gone') instanceof other.LensError, 'and the other way round');
    assert.deepStrictEqual({ ...toErrorPayload(err), stack: undefined }, { code: 'cancelled', message: 'superseded', stack: undefined });
  });

  it('keeps subclasses apart and plain errors out', () => {
    class Narrower extends LensError {}
    assert.ok(new Narrower('timeout', 'x') instanceof Narrower);
    assert.ok(new Narrower('timeout', 'x') instanceof LensError);
    assert.ok(!(new LensError('timeout', 'x') instanceof Narrower));
    for (const value of [new Error('x'), { code: 'cancelled', message: 'x' }, null, 'cancelled']) assert.ok(!(value instanceof LensError), String(value));
    assert.strictEqual(toErrorPayload(new Error('plain')).code, 'internal');
  });
});
