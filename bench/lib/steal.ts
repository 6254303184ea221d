import { readFileSync } from 'node:fs';

/** The machine's CPU time so far, in clock ticks, and the part of it the hypervisor took (steal). */
export interface CpuTicks {
  total: number;
  steal: number;
}

/**
 * /proc/stat's first line: every CPU's user, nice, system, idle, iowait, irq, softirq and steal ticks
 * summed. Undefined where there is no /proc (not Linux).
 */
export function cpuTicks(): CpuTicks | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const [name, ...fields] = line.trim().split(/\s+/);
    const ticks = fields.slice(0, 8).map(Number);
    if (name !== 'cpu' || ticks.length < 8 || ticks.some((tick) => !Number.isFinite(tick))) return undefined;
    return { total: ticks.reduce((sum, tick) => sum + tick, 0), steal: ticks[7] ?? 0 };
  } catch {
    return undefined;
  }
}

/** The share of the machine's CPU time the hypervisor took between two readings. */
export function stealShare(before: CpuTicks | undefined, after: CpuTicks | undefined): number | undefined {
  if (before === undefined || after === undefined || after.total <= before.total) return undefined;
  return (after.steal - before.steal) / (after.total - before.total);
}
