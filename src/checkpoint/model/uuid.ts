import { randomBytes } from 'node:crypto';

/**
 * UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, a 12-bit counter that keeps ids made in the same
 * millisecond in order, then random bits. Sorting the strings sorts by creation time.
 */
export class UuidV7 {
  private lastMs = 0;
  private sequence = 0;

  next(now: number): string {
    if (now > this.lastMs) {
      this.lastMs = now;
      this.sequence = randomBytes(2).readUInt16BE(0) & 0x1ff;
    } else if (++this.sequence > 0xfff) {
      this.lastMs++;
      this.sequence = 0;
    }
    const bytes = randomBytes(16);
    bytes.writeUIntBE(this.lastMs, 0, 6);
    bytes[6] = 0x70 | (this.sequence >> 8);
    bytes[7] = this.sequence & 0xff;
    bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
}
