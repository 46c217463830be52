/**
 * Reads the files of a zip archive (what GitHub serves for an artifact): the central directory,
 * then each entry, stored or deflated. Enough for artifacts; no zip64, no encryption. Sizes are
 * checked so a hostile archive cannot make us inflate without bound.
 */
import { crc32, inflateRawSync } from 'node:zlib';

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_FILE_HEADER = 0x02014b50;
const LOCAL_FILE_HEADER = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;

export class ZipError extends Error {
  constructor(message: string) {
    super(`artifact archive: ${message}`);
    this.name = 'ZipError';
  }
}

export interface UnzipOptions {
  /** Largest total of uncompressed bytes accepted (default 64 MiB), of the entries wanted. */
  maxBytes?: number;
  /** The entries to read; the others are neither inflated nor counted (default every one). */
  want?: (name: string) => boolean;
}

export function readZipEntries(zip: Buffer, options: UnzipOptions = {}): Map<string, Buffer> {
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  const end = findEndOfCentralDirectory(zip);
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const files = new Map<string, Buffer>();
  let total = 0;
  for (let i = 0; i < count; i++) {
    if (offset + 46 > zip.length || zip.readUInt32LE(offset) !== CENTRAL_FILE_HEADER) {
      throw new ZipError(`central directory entry ${i} is damaged`);
    }
    const method = zip.readUInt16LE(offset + 10);
    const crc = zip.readUInt32LE(offset + 16);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const size = zip.readUInt32LE(offset + 24);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const localOffset = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    offset += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith('/') || (options.want && !options.want(name))) continue;
    total += size;
    if (total > maxBytes) throw new ZipError(`more than ${maxBytes} bytes uncompressed`);
    const data = entryData(zip, localOffset, compressedSize, name);
    const content = inflate(data, method, size, name);
    if (content.length !== size || crc32(content) >>> 0 !== crc >>> 0) {
      throw new ZipError(`${name} does not match its checksum`);
    }
    files.set(name, content);
  }
  return files;
}

function findEndOfCentralDirectory(zip: Buffer): number {
  // The record is 22 bytes plus a comment of at most 65,535 bytes, at the very end.
  const earliest = Math.max(0, zip.length - 22 - 0xffff);
  for (let at = zip.length - 22; at >= earliest; at--) {
    if (zip.readUInt32LE(at) === END_OF_CENTRAL_DIRECTORY) return at;
  }
  throw new ZipError('not a zip file (no end of central directory)');
}

function entryData(zip: Buffer, localOffset: number, compressedSize: number, name: string): Buffer {
  if (localOffset + 30 > zip.length || zip.readUInt32LE(localOffset) !== LOCAL_FILE_HEADER) {
    throw new ZipError(`${name}: local header is damaged`);
  }
  const nameLength = zip.readUInt16LE(localOffset + 26);
  const extraLength = zip.readUInt16LE(localOffset + 28);
  const start = localOffset + 30 + nameLength + extraLength;
  if (start + compressedSize > zip.length) throw new ZipError(`${name}: data runs past the end`);
  return zip.subarray(start, start + compressedSize);
}

function inflate(data: Buffer, method: number, size: number, name: string): Buffer {
  if (method === STORED) return Buffer.from(data);
  if (method === DEFLATED) return inflateRawSync(data, { maxOutputLength: Math.max(1, size) });
  throw new ZipError(`${name}: compression method ${method} is not supported`);
}
