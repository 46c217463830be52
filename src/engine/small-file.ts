import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

/**
 * A small regular file an agent wrote (its status file, a message), read at once and safely:
 * opened without blocking, so a FIFO put in its place cannot hang the orchestrator (a blocking
 * open or read of one never returns), and checked to be a regular file of at most `maxBytes`
 * (not a device, not a directory) before a byte is read. Null when absent, unreadable, not a
 * regular file or too large.
 */
export function readSmallFile(
  path: string,
  maxBytes: number,
): { text: string; stats: Stats } | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile() || stats.size > maxBytes) return null;
    const buffer = Buffer.alloc(stats.size);
    let filled = 0;
    while (filled < buffer.length) {
      const read = readSync(fd, buffer, filled, buffer.length - filled, null);
      if (read === 0) break;
      filled += read;
    }
    return { text: buffer.toString('utf8', 0, filled), stats };
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
