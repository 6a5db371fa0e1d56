// The page's work done ahead waits while the pointer moves (webview/pointerRest.ts): rested() resolves at once
// when the pointer has not moved, only REST_MS after the last move when it has (each move puts it off again),
// and moves after dispose() hold nothing back.

import * as assert from 'assert';
import { PointerRest, REST_MS } from '../../webview/pointerRest';

const move = (target: EventTarget) => target.dispatchEvent(new Event('mousemove'));

describe('work that waits while the pointer moves (pointerRest.ts)', () => {
  it('goes on at once when the pointer has not moved', async () => {
    const rest = new PointerRest(new EventTarget());
    assert.strictEqual(rest.remainingMs(), 0, 'nothing to wait for without a move');
    await rest.rested(); // and it resolves
    rest.dispose();
  });

  it('waits until REST_MS after the last move, each move putting it off', async () => {
    const target = new EventTarget();
    const rest = new PointerRest(target);
    move(target);
    assert.ok(rest.remainingMs() > 0 && rest.remainingMs() <= REST_MS, `remainingMs() ${rest.remainingMs()} right after a move`);
    const resolved = rest.rested().then(() => performance.now());
    await new Promise((resolve) => setTimeout(resolve, REST_MS / 2));
    const lastMove = performance.now(); // taken before the move: its rest ends no earlier than this + REST_MS
    move(target);
    assert.ok((await resolved) >= lastMove + REST_MS, 'resolved before the pointer rested after its last move');
    rest.dispose();
  });

  it('holds nothing back once disposed', async () => {
    const target = new EventTarget();
    const rest = new PointerRest(target);
    rest.dispose();
    move(target);
    assert.strictEqual(rest.remainingMs(), 0, 'a move after dispose() held the work back');
    await rest.rested();
  });
});
