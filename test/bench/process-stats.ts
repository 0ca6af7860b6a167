/** CPU time and peak memory of server processes, from /proc (Linux), for per-operation costs. */
import { readFileSync } from 'node:fs';

/** user + system CPU of `pid` in microseconds (utime + stime from /proc/<pid>/stat). */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / CLOCK_TICKS;
}

/** Peak resident memory of `pid` in bytes (VmHWM). */
export function peakRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m === null ? 0 : Number(m[1]) * 1024;
}

/** Current resident memory of `pid` in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m === null ? 0 : Number(m[1]) * 1024;
}

/** Linux's USER_HZ: 100 on every mainstream architecture. */
const CLOCK_TICKS = 100;

/** `read` summed over `pids`; a process that exited (its /proc entry gone) counts as 0. */
export function sumOverProcesses(pids: readonly number[], read: (pid: number) => number): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += read(pid);
    } catch {
      // gone
    }
  }
  return sum;
}

/** Summed CPU of `pids` (processes that exited count as 0). */
export function totalCpuMicros(pids: readonly number[]): number {
  return sumOverProcesses(pids, cpuMicros);
}

/** Bytes `pid` has read through read(2) and friends, sockets included (rchar of /proc/<pid>/io). */
export function readBytes(pid: number): number {
  const io = readFileSync(`/proc/${String(pid)}/io`, 'utf8');
  const m = /rchar:\s+(\d+)/.exec(io);
  return m === null ? 0 : Number(m[1]);
}
