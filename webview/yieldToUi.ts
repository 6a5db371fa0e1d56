// Why: long work on a webview's main thread (an analysis's predictions, rollout, the views' construction) is
// cut into tasks with this, so that drawing and input run in between; a module of its own, without the DOM
// helpers' web components, so that the engine (also run in Node tests) can use it.

/** Yields to the event loop (faster than setTimeout's 4 ms clamp). */
export function yieldToUi(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    // Typed as the DOM's port: the engine is also type-checked with Node's types, whose port has no onmessage.
    // Closed once used: in Node (the engine's tests) an open port with a listener keeps the process alive.
    const port = channel.port1 as unknown as { onmessage: () => void; close(): void };
    port.onmessage = () => {
      port.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

interface TaskScheduler {
  postTask(task: () => void, options: { priority: 'background' | 'user-visible' }): Promise<unknown>;
}

/** Posts `task` at a Prioritized Task Scheduling priority; a plain task where there is none. */
function postTask(task: () => void, priority: 'background' | 'user-visible'): void {
  const scheduler = (globalThis as { scheduler?: Partial<TaskScheduler> }).scheduler;
  if (typeof scheduler?.postTask === 'function') void scheduler.postTask(task, { priority });
  else setTimeout(task, 0);
}

/**
 * Runs `task` in a task of its own after the input and rendering the browser has waiting (Prioritized Task
 * Scheduling's background priority; a plain task where there is none): for work done ahead of need in slices,
 * which then never stands between an input and the frame that answers it.
 */
export function inBackground(task: () => void): void {
  postTask(task, 'background');
}

/**
 * inBackground, but ahead of the background tasks (user-visible priority: the page's other tasks' own): for short
 * work done ahead that a person is the likelier to ask for next, which background work of seconds would otherwise
 * hold back.
 */
export function aheadOfBackground(task: () => void): void {
  postTask(task, 'user-visible');
}
