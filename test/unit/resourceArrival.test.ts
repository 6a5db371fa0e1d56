// Unit tests of webview/resourceArrival.ts against a real HTTP server and Node's fetch, which writes resource
// timing as a browser does: an answer that ended before the watch counts, one whose body is still coming does not
// until it has ended, other URLs do not, and stop() settles the watch (also where there is no resource timing).

import * as assert from 'assert';
import { watchArrival } from '../../webview/resourceArrival';
import { BODY, type HeldServer, startHeldServer } from './heldServer';

describe('resource arrival (the model files wait for the binary\'s bytes)', () => {
  let server: HeldServer;

  before(async () => {
    server = await startHeldServer();
  });

  after(() => server.close());

  /** Whether a promise has settled once pending work has run (a few turns of the event loop). */
  const settled = async (promise: Promise<void>) => {
    let done = false;
    void promise.then(() => (done = true));
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    return done;
  };

  it('settles for an answer that ended before the watch began', async () => {
    const url = `${server.base}/before/ort.wasm`;
    await (await fetch(url)).arrayBuffer();
    const arrival = watchArrival(url);
    await arrival.arrived; // the test times out otherwise
    arrival.stop();
  });

  it('settles once the body has ended, not when the answer begins, and not for another URL', async () => {
    const url = `${server.base}/held/ort.wasm`;
    const arrival = watchArrival(url);
    const response = await fetch(url);
    const body = response.arrayBuffer();
    await (await fetch(`${server.base}/other/model.onnx`)).arrayBuffer();
    assert.strictEqual(await settled(arrival.arrived), false, 'headers and the first bytes only, and another file whole');
    server.held.get('/held/ort.wasm')?.end(BODY.subarray(1000));
    assert.strictEqual((await body).byteLength, BODY.length);
    await arrival.arrived;
    arrival.stop();
  });

  it('settles when stopped: without resource timing, only then', async () => {
    const noTiming = watchArrival(`${server.base}/never/ort.wasm`, {});
    assert.strictEqual(await settled(noTiming.arrived), false);
    noTiming.stop();
    assert.strictEqual(await settled(noTiming.arrived), true);
    const unfetched = watchArrival(`${server.base}/never/ort.wasm`);
    assert.strictEqual(await settled(unfetched.arrived), false);
    unfetched.stop();
    assert.strictEqual(await settled(unfetched.arrived), true);
  });
});
