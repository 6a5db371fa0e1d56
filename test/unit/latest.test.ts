// Unit tests for LatestOnly (src/core/latest.ts): tasks never overlap, and a newer task cancels the older
// ones, so only the latest result is ever delivered.

import * as assert from 'assert';
import { LensError } from '../../src/core/errors';
import { LatestOnly } from '../../src/core/latest';

const tick = () => new Promise((r) => setTimeout(r, 2));

describe('LatestOnly', () => {
  it('delivers only the latest of several quick requests and cancels the rest', async () => {
    const latest = new LatestOnly();
    const started: number[] = [];
    let running = 0;
    let overlap = false;
    const task = (n: number) => async (signal: AbortSignal) => {
      started.push(n);
      overlap ||= running > 0;
      running++;
      for (let i = 0; i < 5 && !signal.aborted; i++) await tick();
      running--;
      return n;
    };
    const results = await Promise.allSettled([1, 2, 3, 4].map((n) => latest.run(task(n))));
    assert.deepStrictEqual(results.map((r) => r.status), ['rejected', 'rejected', 'rejected', 'fulfilled']);
    assert.strictEqual((results[3] as PromiseFulfilledResult<number>).value, 4);
    for (const r of results.slice(0, 3)) {
      const reason = (r as PromiseRejectedResult).reason;
      assert.ok(reason instanceof LensError && reason.code === 'cancelled');
    }
    assert.strictEqual(overlap, false, 'tasks must not run at the same time');
    assert.ok(!started.includes(2) && !started.includes(3), `superseded tasks must not start: ${started}`);
  });

  it('cancels a running task whose result arrives after a newer request', async () => {
    const latest = new LatestOnly();
    let release!: () => void;
    const first = latest.run(() => new Promise<string>((resolve) => (release = () => resolve('stale'))));
    await tick();
    const second = latest.run(async () => 'fresh');
    release();
    await assert.rejects(first, (err: LensError) => err.code === 'cancelled');
    assert.strictEqual(await second, 'fresh');
  });

  it('passes errors of the latest task through and keeps working afterwards', async () => {
    const latest = new LatestOnly();
    await assert.rejects(latest.run(async () => { throw new Error('boom'); }), /boom/);
    assert.strictEqual(await latest.run(async () => 7), 7);
  });

  it('cancel() aborts the running task', async () => {
    const latest = new LatestOnly();
    const run = latest.run(async (signal) => {
      while (!signal.aborted) await tick();
      return 'done';
    });
    await tick();
    latest.cancel();
    await assert.rejects(run, (err: LensError) => err.code === 'cancelled');
  });
});
