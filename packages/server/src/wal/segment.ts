/**
 * Segment files: their names, finding them in a directory, reading their records back, and
 * creating new ones atomically.
 *
 * A segment is named `<seq>-<firstIndex>.wal`, both 16 hex digits, so names sort in log order.
 * `seq` counts segments from 0 without gaps; `firstIndex` is a lower bound on the Raft index of
 * every entry the segment holds (the writer starts a new segment rather than break it).
 */
import { type FileHandle, type FileSystem, isNotFound } from '../env/file-system.js';
import { join } from 'node:path';
import { WalCorruptError } from './errors.js';
import { decodeRecord, findValidFrame, readFrame, type WalRecord } from './record.js';
import { syncDirectory, type SyncHook } from './sync.js';

const SEGMENT_SUFFIX = '.wal';
/** A segment being created; it only gets its real name once its first records are durable. */
const TEMP_SUFFIX = '.wal.tmp';
const NAME_PATTERN = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

export interface SegmentId {
  readonly seq: number;
  readonly firstIndex: number;
  readonly name: string;
}

/** The file name of segment `seq` whose entries all have index >= `firstIndex`. */
export function segmentName(seq: number, firstIndex: number): string {
  return `${hex64(seq)}-${hex64(firstIndex)}${SEGMENT_SUFFIX}`;
}

/**
 * Parses a segment file name; undefined for names that are not segments at all. A segment
 * name whose numbers exceed the safe integer range cannot have been written by us: corrupt.
 */
export function parseSegmentName(name: string): SegmentId | undefined {
  const m = NAME_PATTERN.exec(name);
  if (m === null) return undefined;
  const seq = BigInt(`0x${m[1]!}`);
  const firstIndex = BigInt(`0x${m[2]!}`);
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  if (seq > max || firstIndex > max) throw new WalCorruptError(name, 0, 'segment name beyond the safe integer range');
  return { seq: Number(seq), firstIndex: Number(firstIndex), name };
}

/**
 * The segments in `dir`, in log order, and leftover temporary files from a segment creation
 * that crashed before completing. A missing directory has neither.
 */
export async function listDirectory(fs: FileSystem, dir: string): Promise<{ segments: SegmentId[]; leftovers: string[] }> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (e) {
    if (isNotFound(e)) return { segments: [], leftovers: [] };
    throw e;
  }
  const segments: SegmentId[] = [];
  const leftovers: string[] = [];
  for (const name of names) {
    if (name.endsWith(TEMP_SUFFIX)) {
      leftovers.push(name);
      continue;
    }
    const id = parseSegmentName(name);
    if (id !== undefined) segments.push(id);
  }
  segments.sort((a, b) => a.seq - b.seq);
  return { segments, leftovers };
}

/** Deletes leftover temporary files and makes the deletion durable. */
export async function removeLeftovers(fs: FileSystem, dir: string, leftovers: readonly string[], sync: SyncHook): Promise<void> {
  if (leftovers.length === 0) return;
  for (const name of leftovers) await fs.unlink(join(dir, name));
  await syncDirectory(fs, dir, sync);
}

/** A decoded record and the byte offset of its frame in the segment. */
export interface ScannedRecord {
  readonly record: WalRecord;
  readonly offset: number;
}

export interface SegmentScan {
  readonly records: ScannedRecord[];
  /** Bytes up to the end of the last valid record. */
  readonly validBytes: number;
  /** Why the bytes after `validBytes` were rejected; only ever set for the last segment. */
  readonly tornTail?: string;
}

/**
 * Reads every record of segment `name` from its contents `buf`.
 *
 * Damage is tolerated only where a crash during a write can leave it: at the end of the last
 * segment, with no valid record after it. Anything else throws WalCorruptError, because
 * skipping a record in the middle would silently lose acknowledged data.
 */
export function scanSegment(name: string, buf: Uint8Array, isLast: boolean): SegmentScan {
  const records: ScannedRecord[] = [];
  let at = 0;
  while (at < buf.length) {
    const frame = readFrame(buf, at);
    if (frame.kind === 'ok') {
      const decoded = decodeRecord(frame.type, frame.payload);
      // The CRC matched, so this is what was written: a payload we cannot read is not a torn write.
      if (!decoded.ok) throw new WalCorruptError(name, at, decoded.reason);
      records.push({ record: decoded.record, offset: at });
      at = frame.end;
      continue;
    }
    if (!isLast) throw new WalCorruptError(name, at, `${frame.reason} in a segment that is not the last`);
    const next = findValidFrame(buf, at + 1);
    if (next !== undefined) {
      throw new WalCorruptError(name, at, `${frame.reason}, followed by a valid record at offset ${next}`);
    }
    return { records, validBytes: at, tornTail: frame.reason };
  }
  return { records, validBytes: at };
}

/**
 * Creates segment `name` in `dir` holding `data`, atomically: the data is written and synced
 * under a temporary name, renamed, and the directory synced. A crash leaves either no segment
 * or a complete one, never a segment missing its leading metadata. Returns the open handle.
 */
export async function createSegmentFile(
  fs: FileSystem,
  dir: string,
  name: string,
  data: Uint8Array,
  sync: SyncHook,
): Promise<FileHandle> {
  const tempName = `${name.slice(0, -SEGMENT_SUFFIX.length)}${TEMP_SUFFIX}`;
  const tempPath = join(dir, tempName);
  // 'w' rather than 'wx': a leftover from an earlier crash holds nothing worth keeping.
  const handle = await fs.open(tempPath, 'w');
  try {
    handle.writeAll(data, 0);
    await sync({ kind: 'segment', name: tempName, handle, bytes: data.length });
    await fs.rename(tempPath, join(dir, name));
    await syncDirectory(fs, dir, sync);
  } catch (e) {
    await handle.close().catch(() => undefined);
    throw e;
  }
  return handle;
}

function hex64(n: number): string {
  return n.toString(16).padStart(16, '0');
}
