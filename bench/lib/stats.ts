/** Order statistics of a sample of times in milliseconds. */
export interface Summary {
  count: number;
  median: number;
  p99: number;
  min: number;
  max: number;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    median: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    min: sorted[0] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/** Nearest-rank quantile of an ascending sample (the median of an even sample is the mean of the two middle values). */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (q === 0.5 && sorted.length % 2 === 0) {
    const mid = sorted.length / 2;
    return ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  }
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Runs `action` `warmup` times untimed, then `count` times timed one after another. */
export async function timeSequential(
  count: number,
  warmup: number,
  action: (i: number) => Promise<unknown>,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await action(-1 - i);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = nowMs();
    await action(i);
    times.push(nowMs() - started);
  }
  return times;
}

/** A timed call, or one with an untimed clean-up after it. */
export type Action =
  | ((i: number, round: number) => Promise<unknown>)
  | {
      run: (i: number, round: number) => Promise<unknown>;
      after: (i: number, round: number) => Promise<unknown>;
    };

/**
 * Times every action `rounds` x `perRound` times, the actions taking turns in blocks of `perRound`,
 * so that load from other work on the machine falls on all of them alike and their ratios hold.
 */
export async function timeInterleaved<K extends string>(
  rounds: number,
  perRound: number,
  actions: Record<K, Action>,
  beforeRound: (round: number) => Promise<void> = async () => {},
): Promise<Record<K, number[]>> {
  const names = Object.keys(actions) as K[];
  const times = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>;
  for (let round = 0; round < rounds; round++) {
    await beforeRound(round);
    for (const name of names) {
      const action = actions[name];
      const { run, after } = typeof action === 'function' ? { run: action, after: undefined } : action;
      for (let j = 0; j < perRound; j++) {
        const i = round * perRound + j;
        const started = nowMs();
        await run(i, round);
        times[name].push(nowMs() - started);
        await after?.(i, round);
      }
    }
  }
  return times;
}

export function summarizeAll<K extends string>(times: Record<K, number[]>): Record<K, Summary> {
  const entries = Object.entries(times) as Array<[K, number[]]>;
  return Object.fromEntries(entries.map(([name, samples]) => [name, summarize(samples)])) as Record<
    K,
    Summary
  >;
}
