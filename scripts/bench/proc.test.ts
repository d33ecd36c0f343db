// The benchmark's readings of /proc, on processes whose use is known: this one, and a child that
// spins for a while.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { cpuMeter, pidsOf, rssMb } from './proc.js';

describe('/proc readings', () => {
  it('measures the CPU a process spends between two readings, as the process itself counts it', async () => {
    // The child spins until it has used 300 ms of CPU, says how much it has used since it began
    // (its start included), and then idles.
    const child = spawn(process.execPath, ['-e', `
      const used = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
      const start = used();
      while (used() - start < 300);
      console.log(used());
      setTimeout(() => {}, 5000);`]);
    const meter = cpuMeter(() => [child.pid!]);
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const spent = meter();
    child.kill();
    // The kernel counts in ticks of 10 ms.
    expect(spent).toBeGreaterThan(Number(line.toString()) - 30);
    expect(spent).toBeLessThan(Number(line.toString()) + 30);
  });

  it('reads resident memory in MB, and finds processes by their command', () => {
    const mb = rssMb(process.pid);
    expect(mb).toBeGreaterThan(10);
    expect(mb).toBeLessThan(4096);
    expect(pidsOf(['node'])).toContain(process.pid);
  });

  it('counts a process that is gone as having spent nothing more', () => {
    expect(cpuMeter(() => [2 ** 22 + 7])()).toBe(0);
  });
});
