import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDirs as useSharedTempDirs } from '../temp-dirs.js';
import { EntryType, type Entry } from '../../src/raft/types.js';
import { decodeRecord, readFrame, RecordType, type WalRecord } from '../../src/wal/record.js';

/** Fresh temporary directories for WAL tests, removed after each test. */
export function useTempDirs(): () => Promise<string> {
  return useSharedTempDirs('wal');
}

const encoder = new TextEncoder();

export function entry(index: number, term: number, data = `e${index}t${term}`): Entry {
  return { index, term, type: EntryType.Normal, data: encoder.encode(data) };
}

/** Entries lo..hi inclusive, all at `term`. */
export function entries(lo: number, hi: number, term: number, data?: (i: number) => string): Entry[] {
  const out: Entry[] = [];
  for (let i = lo; i <= hi; i++) out.push(entry(i, term, data?.(i)));
  return out;
}

/** Segment file names in `dir`, in log order. */
export async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.wal')).sort();
}

export interface FrameAt {
  readonly offset: number;
  readonly end: number;
  readonly record: WalRecord;
}

/** Every valid record of `buf` up to its end or the first bad frame. */
export function frames(buf: Uint8Array): FrameAt[] {
  const out: FrameAt[] = [];
  let at = 0;
  while (at < buf.length) {
    const f = readFrame(buf, at);
    if (f.kind !== 'ok') break;
    const d = decodeRecord(f.type, f.payload);
    if (!d.ok) break;
    out.push({ offset: at, end: f.end, record: d.record });
    at = f.end;
  }
  return out;
}

/** Frames of segment file `name` in `dir`. */
export async function fileFrames(dir: string, name: string): Promise<FrameAt[]> {
  return frames(await readFile(join(dir, name)));
}

/** Indexes of the entry records in `records`. */
export function entryIndexes(records: readonly FrameAt[]): number[] {
  const out: number[] = [];
  for (const { record } of records) if (record.type === RecordType.Entry) out.push(record.entry.index);
  return out;
}

/** A promise and the function that settles it, for gating hooks in tests. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Lets every pending I/O callback and microtask run once. */
export function settle(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
