// Why: on a shared machine of few cores, a cold command's time depends on what else runs meanwhile. This reads, on
// Linux, the CPU time that each process used between two moments (/proc/<pid>/stat, /proc/stat), grouped by what
// the process is (the browser's renderers, VS Code's server, the extension host, TypeScript's server, …), so that
// each cold window's figure says how busy the machine was and with what. Elsewhere it reads nothing (undefined).
// In a container, /proc/stat is the whole host's while the processes listed are the container's own.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { median } from './stats';

/** Every process's CPU time (ticks) and what it is, and the machine's busy ticks, at one moment. */
export interface CpuSnapshot {
  at: number;
  busy: number;
  steal: number;
  processes: Map<string, { cpu: number; kind: string }>;
  ticksPerSecond: number;
}

/** The CPU used between two snapshots (seconds; core-seconds). */
export interface CpuAccount {
  wall: number;
  busy: number;
  steal: number;
  capacity: number;
  kinds: Array<[string, number]>;
}

/** Clock ticks per second of /proc's CPU times (getconf CLK_TCK; 100 on Linux's usual builds). */
function ticksPerSecond(): number {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
}

/**
 * A process's user + system CPU time in ticks from the text of its /proc/<pid>/stat. The command name, field 2, is
 * in parentheses and may hold spaces and parentheses itself: the fields after it are read from the last ')'.
 */
export function processTicks(stat: string): number {
  const close = stat.lastIndexOf(')');
  if (close < 0) throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(stat.slice(0, 80))}`);
  const fields = stat.slice(close + 2).trim().split(/\s+/); // fields 3 (state) onwards
  const utime = Number(fields[11]); // field 14
  const stime = Number(fields[12]); // field 15
  if (!Number.isInteger(utime) || !Number.isInteger(stime)) throw new Error(`no utime and stime in /proc/<pid>/stat: ${JSON.stringify(stat.slice(0, 80))}`);
  return utime + stime;
}

/**
 * The machine's ticks (all CPUs) from /proc/stat's first line: busy (user, nice, system, irq, softirq) and stolen
 * (a virtual machine's CPU given to another by its host meanwhile: a noisy neighbour, not this machine's work).
 */
export function machineTicks(procStat: string): { busy: number; steal: number } {
  const line = procStat.split('\n', 1)[0];
  if (!/^cpu\s/.test(line)) throw new Error(`/proc/stat does not begin with the cpu line: ${JSON.stringify(line.slice(0, 80))}`);
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return { busy: user + nice + system + irq + softirq, steal: steal ?? 0 };
}

/** What a process is, from its command line (NUL-separated arguments joined by spaces). */
export function processKind(cmdline: string): string {
  const program = cmdline.trimStart().split(/\s/, 1)[0];
  if (/(^|\/)(chromium|chrome)[^/]*$/.test(program)) {
    if (/crashpad/.test(program)) return 'browser: other';
    const type = /--type=(\S+)/.exec(cmdline)?.[1];
    if (!type) return 'browser: main';
    if (type === 'renderer') return 'browser: renderers (workbench and webviews)';
    if (type === 'gpu-process') return 'browser: GPU';
    if (type === 'utility' && /NetworkService/.test(cmdline)) return 'browser: network';
    return 'browser: other';
  }
  if (/tsserver\.js|typingsInstaller\.js/.test(cmdline)) return "TypeScript's server";
  if (/bootstrap-fork\S*\s+--type=extensionHost/.test(cmdline)) return 'extension host';
  if (/code-server/.test(cmdline)) return "VS Code's server";
  return 'other processes';
}

/**
 * Every process's CPU time and the machine's, now; undefined where /proc cannot be read (not Linux). The machine's
 * time is read last, with the clock, so that its busy time and the wall time cover the same stretch.
 */
export function cpuSnapshot(ticks = ticksPerSecond()): CpuSnapshot | undefined {
  if (!existsSync('/proc/stat')) return undefined;
  const processes: CpuSnapshot['processes'] = new Map();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cpu = processTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      if (cpu === 0) continue;
      processes.set(pid, { cpu, kind: processKind(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')) });
    } catch {
      // the process ended meanwhile
    }
  }
  const machine = machineTicks(readFileSync('/proc/stat', 'utf8'));
  return { at: performance.now(), ...machine, processes, ticksPerSecond: ticks };
}

/**
 * The CPU used between two snapshots: wall seconds, the machine's busy core-seconds out of its cores × wall, and
 * each kind's core-seconds, most first. A process that ended between them is not counted (its time is lost with it).
 */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot, cores = cpus().length): CpuAccount {
  const kinds = new Map<string, number>();
  for (const [pid, now] of after.processes) {
    const used = (now.cpu - (before.processes.get(pid)?.cpu ?? 0)) / after.ticksPerSecond;
    if (used > 0) kinds.set(now.kind, (kinds.get(now.kind) ?? 0) + used);
  }
  const wall = (after.at - before.at) / 1000;
  return { wall, busy: (after.busy - before.busy) / after.ticksPerSecond, steal: (after.steal - before.steal) / after.ticksPerSecond, capacity: wall * cores, kinds: [...kinds].sort((a, b) => b[1] - a[1]) };
}

/**
 * "machine busy 4.90 of 5.30 core-s: browser: renderers (workbench and webviews) 3.70, …" (kinds of 0.05 core-s or
 * more; and what the virtual machine's host took).
 */
export function formatCpu(account: CpuAccount): string {
  const kinds = account.kinds.filter(([, s]) => s >= 0.05).map(([kind, s]) => `${kind} ${s.toFixed(2)}`);
  const stolen = account.steal >= 0.05 ? ` (and ${account.steal.toFixed(2)} core-s taken by the virtual machine's host)` : '';
  return `machine busy ${account.busy.toFixed(2)} of ${account.capacity.toFixed(2)} core-s${stolen}: ${kinds.join(', ')}`;
}

/**
 * Over several windows' accounts, formatted: the medians of the wall, the machine's busy time and each kind's time
 * (0 where absent). Of an even count, the upper middle value, as the benchmark's other medians.
 */
export function formatCpuMedians(accounts: CpuAccount[]): string {
  const names = [...new Set(accounts.flatMap((a) => a.kinds.map(([kind]) => kind)))];
  const kinds = names.map((kind): [string, number] => [kind, median(accounts.map((a) => a.kinds.find(([k]) => k === kind)?.[1] ?? 0))]);
  const account: CpuAccount = { wall: median(accounts.map((a) => a.wall)), busy: median(accounts.map((a) => a.busy)), steal: median(accounts.map((a) => a.steal)), capacity: median(accounts.map((a) => a.capacity)), kinds: kinds.sort((a, b) => b[1] - a[1]) };
  return formatCpu(account);
}
