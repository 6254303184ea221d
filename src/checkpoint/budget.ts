/** Bytes a character costs once JSON-encoded as UTF-8: how a response is measured against the budget. */
function charCost(text: string, index: number): { cost: number; width: number } {
  const code = text.charCodeAt(index);
  if (code < 0x20)
    return { cost: code === 8 || code === 9 || code === 10 || code === 12 || code === 13 ? 2 : 6, width: 1 };
  if (code === 0x22 || code === 0x5c) return { cost: 2, width: 1 };
  if (code < 0x80) return { cost: 1, width: 1 };
  if (code < 0x800) return { cost: 2, width: 1 };
  if (code >= 0xd800 && code <= 0xdbff) {
    const low = text.charCodeAt(index + 1);
    if (low >= 0xdc00 && low <= 0xdfff) return { cost: 4, width: 2 };
    return { cost: 6, width: 1 };
  }
  if (code >= 0xdc00 && code <= 0xdfff) return { cost: 6, width: 1 };
  return { cost: 3, width: 1 };
}

export function encodedSize(text: string): number {
  let size = 0;
  for (let i = 0; i < text.length; ) {
    const { cost, width } = charCost(text, i);
    size += cost;
    i += width;
  }
  return size;
}

/**
 * The end of the longest slice from `start` of at most `maxChars` characters and `maxBytes` encoded
 * bytes that does not split a surrogate pair. At least one character is taken, so paging always advances.
 */
export function sliceEnd(text: string, start: number, maxChars: number, maxBytes: number): number {
  const limit = Math.min(text.length, start + maxChars);
  let size = 0;
  let i = start;
  while (i < limit) {
    const { cost, width } = charCost(text, i);
    if (i + width > limit || size + cost > maxBytes) break;
    size += cost;
    i += width;
  }
  if (i === start && start < text.length) i += charCost(text, start).width;
  return i;
}

/**
 * Cuts the largest texts until all fit in `budget` encoded bytes: every text keeps up to one common
 * cap, so small outputs come whole and only the big ones are cut. Returns the cap, or undefined when
 * everything fits.
 */
export function fairCap(sizes: readonly number[], budget: number): number | undefined {
  const total = sizes.reduce((sum, size) => sum + size, 0);
  if (total <= budget) return undefined;
  const sorted = [...sizes].sort((a, b) => a - b);
  let remaining = budget;
  for (let i = 0; i < sorted.length; i++) {
    const share = Math.floor(remaining / (sorted.length - i));
    const size = sorted[i] as number;
    if (size > share) return share;
    remaining -= size;
  }
  return remaining;
}
