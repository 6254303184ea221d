/**
 * Bytes the character at `index` costs once JSON-encoded as UTF-8 (how a response is measured against
 * the budget), times 4, plus its width in UTF-16 code units. One number, not an object: these loops run
 * once per character of outputs of megabytes.
 */
function packedCost(text: string, index: number): number {
  const code = text.charCodeAt(index);
  if (code >= 0x20 && code < 0x80) return code === 0x22 || code === 0x5c ? 9 : 5;
  if (code < 0x20) return code === 8 || code === 9 || code === 10 || code === 12 || code === 13 ? 9 : 25;
  if (code < 0x800) return 9;
  if (code >= 0xd800 && code <= 0xdbff) {
    const low = text.charCodeAt(index + 1);
    if (low >= 0xdc00 && low <= 0xdfff) return 18;
    return 25;
  }
  if (code >= 0xdc00 && code <= 0xdfff) return 25;
  return 13;
}

/** Characters measured at once by the JSON encoder, which is many times faster than a loop here. */
const CHUNK = 16_384;

export function encodedSize(text: string): number {
  let size = 0;
  for (let i = 0; i < text.length; ) {
    const end = chunkEnd(text, i, text.length);
    size += chunkCost(text, i, end);
    i = end;
  }
  return size;
}

/** The end of the chunk from `start`, short of `limit` and never between the halves of a surrogate pair. */
function chunkEnd(text: string, start: number, limit: number): number {
  const end = Math.min(start + CHUNK, limit);
  const last = text.charCodeAt(end - 1);
  return end < limit && end - 1 > start && last >= 0xd800 && last <= 0xdbff ? end - 1 : end;
}

/** The encoded bytes of text[start, end): JSON.stringify escapes exactly as packedCost counts. */
function chunkCost(text: string, start: number, end: number): number {
  return Buffer.byteLength(JSON.stringify(text.slice(start, end)), 'utf8') - 2;
}

/**
 * The end of the longest slice from `start` of at most `maxChars` characters and `maxBytes` encoded
 * bytes that does not split a surrogate pair. At least one character is taken, so paging always advances.
 */
export function sliceEnd(text: string, start: number, maxChars: number, maxBytes: number): number {
  const limit = Math.min(text.length, start + maxChars);
  let size = 0;
  let i = start;
  // Whole chunks while they surely fit; the character-by-character loop finds the exact end in the last.
  while (limit - i > CHUNK) {
    const end = chunkEnd(text, i, limit);
    const cost = chunkCost(text, i, end);
    if (size + cost > maxBytes) break;
    size += cost;
    i = end;
  }
  while (i < limit) {
    const packed = packedCost(text, i);
    const cost = packed >> 2;
    const width = packed & 3;
    if (i + width > limit || size + cost > maxBytes) break;
    size += cost;
    i += width;
  }
  if (i === start && start < text.length) i += packedCost(text, start) & 3;
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
