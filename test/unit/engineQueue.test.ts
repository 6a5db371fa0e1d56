// Unit tests for RunQueue (src/core/runQueue.ts), the one owner of the order of the engine's jobs: jobs never
// overlap, a newer analysis cancels everything before it and only the latest result is delivered, occlusion
// (a follow-up) runs after the analysis it belongs to, and no mix of analyses, follow-ups and cancels in any
// order and timing leaves a call unsettled (the deadlock of issue 12). Plain timers stand in for inference.

import * as assert from 'assert';
import { LensError } from '../../src/core/errors';
import { RunQueue, untilAborted } from '../../src/core/runQueue';
import { random, sleep } from './engineRig';

const isCancelled = (err: unknown) => err instanceof LensError && err.code === 'cancelled';

/** A job body that "infers" in steps of `stepMs`, checking its signal between steps like the engine's bodies. */
function steps<T>(value: T, count: number, stepMs: number, log?: { running: number; overlap: boolean }) {
  return async (signal: AbortSignal): Promise<T> => {
    if (log) {
      log.overlap ||= log.running > 0;
      log.running++;
    }
    try {
      for (let i = 0; i < count; i++) {
        if (signal.aborted) throw new LensError('cancelled', 'stopped');
        await sleep(stepMs);
      }
      return value;
    } finally {
      if (log) log.running--;
    }
  };
}

describe('RunQueue', () => {
  it('delivers only the latest of several quick analyses; superseded ones never start and never overlap', async () => {
    const queue = new RunQueue();
    const started: number[] = [];
    const log = { running: 0, overlap: false };
    const job = (n: number) => (signal: AbortSignal) => {
      started.push(n);
      return steps(n, 5, 2, log)(signal);
    };
    const results = await Promise.allSettled([1, 2, 3, 4].map((n) => queue.exclusive(job(n))));
    assert.deepStrictEqual(results.map((r) => r.status), ['rejected', 'rejected', 'rejected', 'fulfilled']);
    assert.strictEqual((results[3] as PromiseFulfilledResult<number>).value, 4);
    for (const r of results.slice(0, 3)) assert.ok(isCancelled((r as PromiseRejectedResult).reason));
    assert.strictEqual(log.overlap, false, 'jobs must not run at the same time');
    assert.ok(!started.includes(2) && !started.includes(3), `superseded jobs must not start: ${started}`);
  });

  it('rejects a result that arrives after a newer analysis started, and passes errors of the latest through', async () => {
    const queue = new RunQueue();
    let release!: () => void;
    const first = queue.exclusive(() => new Promise<string>((resolve) => (release = () => resolve('stale'))));
    await sleep(2);
    const second = queue.exclusive(async () => 'fresh');
    release();
    await assert.rejects(first, isCancelled);
    assert.strictEqual(await second, 'fresh');
    await assert.rejects(queue.exclusive(async () => { throw new Error('boom'); }), /boom/);
    assert.strictEqual(await queue.exclusive(async () => 7), 7);
  });

  it('runs a follow-up after the analysis before it; a newer follow-up, an analysis, cancel() or its own signal cancels it', async () => {
    const queue = new RunQueue();
    const order: string[] = [];
    const analysis = queue.exclusive(async (s) => (await steps('a', 3, 2)(s), order.push('analysis'), 'a'));
    const occlusion = queue.followUp(async (s) => (await steps('o', 3, 2)(s), order.push('occlusion'), 'o'));
    assert.deepStrictEqual([await analysis, await occlusion], ['a', 'o']);
    assert.deepStrictEqual(order, ['analysis', 'occlusion']);

    const older = queue.followUp(steps('old', 50, 2));
    const newer = queue.followUp(steps('new', 2, 2));
    await assert.rejects(older, isCancelled);
    assert.strictEqual(await newer, 'new');

    const replaced = queue.followUp(steps('x', 50, 2));
    await sleep(3);
    const next = queue.exclusive(steps('b', 1, 1));
    await assert.rejects(replaced, isCancelled);
    assert.strictEqual(await next, 'b');

    const stopped = queue.followUp(steps('y', 50, 2));
    queue.cancel();
    await assert.rejects(stopped, isCancelled);

    const controller = new AbortController();
    const own = queue.followUp(steps('z', 50, 2), controller.signal);
    await sleep(3);
    controller.abort();
    await assert.rejects(own, isCancelled);
    assert.strictEqual(await queue.exclusive(async () => 'still working'), 'still working');
  });

  it('issue 12: cancel, occlusion and a new analysis within one occlusion batch all settle, and the new analysis is not held up', async () => {
    const queue = new RunQueue();
    const first = queue.exclusive(steps('first', 3, 3));
    await first;
    const occlusion = queue.followUp(steps('occlusion', 100, 5)); // batches of 5 ms
    await sleep(7);
    queue.cancel();
    const again = queue.followUp(steps('occlusion 2', 100, 5));
    const started = Date.now();
    const analysis = queue.exclusive(steps('new analysis', 2, 1));
    const settled = await Promise.race([Promise.allSettled([occlusion, again, analysis]), sleep(2000).then(() => 'stuck' as const)]);
    assert.notStrictEqual(settled, 'stuck', 'calls never settled: the queue deadlocked');
    assert.strictEqual(await analysis, 'new analysis');
    await assert.rejects(occlusion, isCancelled);
    await assert.rejects(again, isCancelled);
    assert.ok(Date.now() - started < 200, `the new analysis waited ${Date.now() - started} ms for cancelled work`);
  });

  it('close() cancels everything, refuses new jobs and says when the job in flight has returned', async () => {
    const queue = new RunQueue();
    let returned = false;
    const running = queue.exclusive(async (s) => {
      await steps(0, 3, 3)(s).catch(() => undefined);
      returned = true;
      return 1;
    });
    const queued = queue.followUp(steps(2, 1, 1));
    await sleep(1);
    queue.close();
    await assert.rejects(queued, isCancelled);
    await queue.idle();
    assert.ok(returned, 'idle() must wait for the body in flight');
    await assert.rejects(running, isCancelled);
    await assert.rejects(queue.exclusive(async () => 3), (err: LensError) => err.code === 'disposed');
  });

  it('untilAborted stops waiting when the signal aborts, and passes values and errors through otherwise', async () => {
    const controller = new AbortController();
    const slow = sleep(50).then(() => 'late');
    const waiting = untilAborted(slow, controller.signal);
    controller.abort();
    await assert.rejects(waiting, isCancelled);
    assert.strictEqual(await untilAborted(Promise.resolve(5), new AbortController().signal), 5);
    await assert.rejects(untilAborted(Promise.reject(new Error('read failed')), new AbortController().signal), /read failed/);
  });

  for (const seed of [1, 2, 3, 4, 5]) {
    it(`random analyses, follow-ups and cancels (seed ${seed}): every call settles, jobs never overlap, only the newest result is delivered`, async () => {
      const rand = random(seed);
      const queue = new RunQueue();
      const log = { running: 0, overlap: false };
      let epoch = 0; // bumped by everything that makes an analysis stale
      let followEpoch = 0; // bumped by everything that makes a follow-up stale
      const calls: Array<Promise<unknown>> = [];
      const problems: string[] = [];
      const check = (call: Promise<unknown>, fresh: () => boolean, what: string) =>
        calls.push(call.then(() => fresh() || problems.push(`${what} delivered a stale result`), (err) => isCancelled(err) || problems.push(`${what}: ${String(err)}`)));
      for (let i = 0; i < 400; i++) {
        const r = rand();
        const body = steps(i, 1 + Math.floor(rand() * 4), Math.floor(rand() * 3), log);
        if (r < 0.45) {
          const mine = ++epoch;
          followEpoch++;
          check(queue.exclusive(body), () => epoch === mine, `analysis ${i}`);
        } else if (r < 0.85) {
          const mine = ++followEpoch;
          const controller = new AbortController();
          if (rand() < 0.2) setTimeout(() => controller.abort(), Math.floor(rand() * 5));
          check(queue.followUp(body, controller.signal), () => followEpoch === mine && !controller.signal.aborted, `follow-up ${i}`);
        } else {
          epoch++;
          followEpoch++;
          queue.cancel();
        }
        if (rand() < 0.6) await sleep(Math.floor(rand() * 3));
      }
      const settled = await Promise.race([Promise.all(calls).then(() => 'settled'), sleep(10_000).then(() => 'stuck')]);
      assert.strictEqual(settled, 'settled', 'some calls never settled');
      assert.deepStrictEqual(problems, []);
      assert.strictEqual(log.overlap, false, 'two jobs ran at the same time');
    });
  }
});
