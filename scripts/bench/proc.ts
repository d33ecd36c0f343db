// What the kernel says a process used: CPU time (user + system) and resident memory, from /proc.
import { readdirSync, readFileSync } from 'node:fs';

const clockTicksPerSecond = 100; // USER_HZ on Linux

/** CPU milliseconds a process has used so far; 0 when it is gone. */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command may hold spaces and parentheses: the fields start after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicksPerSecond;
  } catch {
    return 0;
  }
}

/** Resident memory in MB. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
  return Math.round(kb / 102.4) / 10;
}

/** The processes running one of these programs (by the kernel's command name), e.g. every PostgreSQL backend. */
export function pidsOf(commands: readonly string[]): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return commands.includes(readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** CPU used by a group of processes between two readings; processes that came meanwhile count from 0. */
export function cpuMeter(pids: () => number[]) {
  const start = new Map(pids().map((pid) => [pid, cpuMs(pid)]));
  return () => pids().reduce((sum, pid) => sum + cpuMs(pid) - (start.get(pid) ?? 0), 0);
}
