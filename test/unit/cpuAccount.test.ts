// The benchmark's CPU account (test/bench/cpuAccount.ts) says how busy the machine was during each cold command and
// with what. Its reading of /proc's lines, its names for VS Code's and the browser's processes (from their real
// command lines), and its account of this very process's CPU time while it computes, read from the real /proc.

import * as assert from 'assert';
import { existsSync } from 'fs';
import { cpuBetween, cpuSnapshot, formatCpu, formatCpuMedians, machineTicks, processKind, processTicks } from '../bench/cpuAccount';

describe('the benchmark CPU account', () => {
  it('reads a process CPU time after its command name, whatever that name holds', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
    const stat = '4242 (Web Content (x) ) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 12 0 100 0 0';
    assert.strictEqual(processTicks(stat), 1234 + 567);
    assert.throws(() => processTicks('garbage'), /not a \/proc\/<pid>\/stat line/);
    assert.throws(() => processTicks('1 (x) S 1'), /no utime and stime/);
  });

  it('counts the machine busy time apart from idle, iowait and what its host took', () => {
    // guest time (the ninth and tenth values) is already part of user time: not counted again
    assert.deepStrictEqual(machineTicks('cpu  100 5 50 1000 20 3 2 7 11 13\ncpu0 50 2 25 500 10 1 1 3 5 6\n'), { busy: 100 + 5 + 50 + 3 + 2, steal: 7 });
    assert.throws(() => machineTicks('intr 1 2 3'), /does not begin with the cpu line/);
  });

  it('names the processes of a code-server window from their command lines', () => {
    const cases: Array<[string, string]> = [
      ['/usr/lib/chromium/chromium --type=renderer --enable-features=X --lang=en-US', 'browser: renderers (workbench and webviews)'],
      ['/usr/lib/chromium/chromium --type=gpu-process --use-angle=swiftshader', 'browser: GPU'],
      ['/usr/lib/chromium/chromium --type=utility --utility-sub-type=network.mojom.NetworkService', 'browser: network'],
      ['/usr/lib/chromium/chromium --type=utility --utility-sub-type=storage.mojom.StorageService', 'browser: other'],
      ['/usr/lib/chromium/chromium --headless --remote-debugging-pipe about:blank', 'browser: main'],
      ['/usr/lib/chromium/chrome_crashpad_handler --monitor-self --database=/tmp/x', 'browser: other'],
      ['/usr/bin/node /x/server.js --user-data-dir /tmp/chrome-data --log /tmp/chromium', 'other processes'],
      ['/usr/bin/node /x/node_modules/code-server/out/node/entry.js --auth none', "VS Code's server"],
      ['/usr/bin/node /x/code-server/lib/vscode/out/bootstrap-fork --type=fileWatcher', "VS Code's server"],
      ['/usr/bin/node --dns-result-order=ipv4first /x/code-server/lib/vscode/out/bootstrap-fork --type=extensionHost --transformURIs', 'extension host'],
      ['/usr/bin/node /x/code-server/lib/vscode/extensions/node_modules/typescript/lib/tsserver.js --serverMode partialSemantic', "TypeScript's server"],
      ['/usr/bin/python3 something.py', 'other processes'],
    ];
    for (const [cmdline, kind] of cases) assert.strictEqual(processKind(cmdline), kind, cmdline);
  });

  it('accounts for the CPU time this process spends between two snapshots', function () {
    if (!existsSync('/proc/self/stat')) this.skip(); // Linux only, as the benchmark's account
    const before = cpuSnapshot();
    assert.ok(before, 'a snapshot where /proc can be read');
    const start = process.cpuUsage();
    let x = 0;
    // 300 ms of this process's own CPU time, however busy the machine (x keeps the loop from being optimised away)
    while (process.cpuUsage(start).user < 300_000) x += Math.sqrt(x + 1);
    const after = cpuSnapshot(before.ticksPerSecond)!;
    const account = cpuBetween(before, after);
    const pid = String(process.pid);
    const mine = ((after.processes.get(pid)?.cpu ?? 0) - (before.processes.get(pid)?.cpu ?? 0)) / after.ticksPerSecond;
    assert.ok(mine >= 0.28 && mine <= account.wall * 2 + 0.05, `this process: ${mine} s of CPU for its 0.3 s of work (x = ${x}), in ${account.wall} s`);
    const kind = account.kinds.find(([k]) => k === after.processes.get(pid)?.kind);
    assert.ok(kind && kind[1] >= mine - 1e-9, `its kind holds its time: ${formatCpu(account)}`);
    assert.ok(account.busy >= mine - 0.05 && account.busy <= account.capacity * 1.1 + 0.1, formatCpu(account));
  });

  it('takes the medians of several accounts, a kind absent from one counting 0 there', () => {
    const text = formatCpuMedians([
      { wall: 2, busy: 3, steal: 0, capacity: 4, kinds: [['a', 2], ['b', 1]] },
      { wall: 3, busy: 5, steal: 0.2, capacity: 6, kinds: [['a', 4]] },
      { wall: 4, busy: 4, steal: 0.1, capacity: 8, kinds: [['a', 3], ['b', 0.5]] },
    ]);
    assert.strictEqual(text, "machine busy 4.00 of 6.00 core-s (and 0.10 core-s taken by the virtual machine's host): a 3.00, b 0.50");
    // of an even count, the upper middle value, as the benchmark's other medians
    const even = formatCpuMedians([
      { wall: 1, busy: 1, steal: 0, capacity: 2, kinds: [['a', 1]] },
      { wall: 2, busy: 2, steal: 0, capacity: 4, kinds: [['a', 2]] },
    ]);
    assert.strictEqual(even, 'machine busy 2.00 of 4.00 core-s: a 2.00');
  });
});
