import type { Summary } from './stats.js';

export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  const rule = header.map((_, i) => (i === 0 ? '---' : '---:'));
  return [line(header), line(rule), ...rows.map(line)].join('\n');
}

export function ms(value: number): string {
  return `${value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0)} ms`;
}

export function cells(summary: Summary): string[] {
  return [ms(summary.median), ms(summary.p99), ms(summary.min), ms(summary.max)];
}

export function ratio(value: number, reference: number): string {
  return `${(value / reference).toFixed(2)} x`;
}

/** Mebibytes as read from /proc, shown in megabytes (10^6 bytes), the unit of the targets. */
export function mb(mib: number): string {
  return `${((mib * 1024 * 1024) / 1e6).toFixed(0)} MB`;
}
