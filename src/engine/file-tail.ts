import { open } from 'node:fs/promises';

/**
 * The last `maxBytes` of a file (a check's or a test run's output, where the failures and the
 * summary are), read without loading the rest; null when it cannot be read.
 */
export async function readFileTail(file: string, maxBytes: number): Promise<string | null> {
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const start = Math.max(0, size - maxBytes);
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      return buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return null;
  }
}
