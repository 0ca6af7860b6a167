import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LmdbBackend } from '../../src/backend/lmdb-backend.js';
import { MemoryBackend } from '../../src/backend/memory-backend.js';
import { encodeSnapshot } from '../../src/backend/snapshot-format.js';
import { dataDirLayout } from '../../src/storage/data-dir.js';
import { MemberStorage } from '../../src/storage/member-storage.js';
import { readMembers, writeMember } from '../../src/member/member-store.js';
import { KvStore } from '../../src/mvcc/kv-store.js';
import { ALARM_BUCKET } from '../../src/maintenance/alarm-store.js';
import { restoreSnapshot, RestoreError } from '../../src/maintenance/snapshot-restore.js';
import { snapshotMessages, snapshotPadding, unpaddedLength } from '../../src/maintenance/snapshot-stream.js';
import { useTempDirs } from '../temp-dirs.js';

async function sourceStore(): Promise<MemoryBackend> {
  const backend = MemoryBackend.open();
  const kv = await KvStore.open(backend);
  await kv.write({ consistentIndex: 500, consistentTerm: 7 }, (txn) => {
    txn.put(Buffer.from('a'), Buffer.from('1'));
    txn.put(Buffer.from('b'), Buffer.from('2'));
    writeMember(txn, { id: 99, name: 'old', peerUrls: ['http://10.0.0.1:2380'], clientUrls: [], isLearner: false });
    txn.putAux(ALARM_BUCKET, new Uint8Array(9).fill(1), new Uint8Array(0));
  });
  return backend;
}

async function saveFile(backend: MemoryBackend, path: string): Promise<void> {
  const parts: Uint8Array[] = [];
  for await (const m of snapshotMessages(backend)) parts.push(m.blob);
  writeFileSync(path, Buffer.concat(parts));
}

describe('snapshot stream padding', () => {
  it('pads every image length to a multiple of 512 and finds the image again', () => {
    for (const n of [0, 1, 507, 508, 509, 511, 512, 100_000]) {
      const pad = snapshotPadding(n);
      expect((n + pad.length) % 512).toBe(0);
      const content = Buffer.concat([Buffer.alloc(n, 0xaa), pad]);
      expect(unpaddedLength(content.length, content.subarray(-1024))).toBe(n);
    }
  });
});

describe('restoreSnapshot', () => {
  const tempDir = useTempDirs('restore');
  const options = (dir: string, file: string) => ({
    snapshotPath: file,
    name: 'r1',
    dataDir: join(dir, 'r1'),
    initialCluster: 'r1=http://127.0.0.1:3001,r2=http://127.0.0.1:3002',
    initialClusterToken: 'tok',
    initialAdvertisePeerUrls: ['http://127.0.0.1:3001'],
    skipHashCheck: false,
  });

  it('keeps the data, rewrites the members, drops alarms, resets the consistent index; the file carries etcdctl’s sha256', async () => {
    const dir = await tempDir();
    const file = join(dir, 'snap.db');
    await saveFile(await sourceStore(), file);
    const bytes = readFileSync(file);
    expect(bytes.length % 512).toBe(32);
    expect(createHash('sha256').update(bytes.subarray(0, -32)).digest().equals(bytes.subarray(-32))).toBe(true);

    const r = await restoreSnapshot(options(dir, file));
    expect(r.members.map((m) => m.name).sort()).toEqual(['r1', 'r2']);
    const layout = dataDirLayout(join(dir, 'r1'));
    const backend = LmdbBackend.open({ path: layout.dbDir });
    try {
      const kv = await KvStore.open(backend);
      expect(kv.range(Buffer.from('a'), Buffer.from('c')).kvs.map((k) => Buffer.from(k.value).toString())).toEqual(['1', '2']);
      expect(kv.consistentIndex).toEqual({ consistentIndex: 1, consistentTerm: 1 });
      const view = backend.readTxn();
      expect(readMembers(view).map((m) => m.id).sort()).toEqual(r.members.map((m) => m.id).sort());
      expect(view.range(ALARM_BUCKET)).toEqual([]);
      view.release();
    } finally {
      await backend.close();
    }
    const opened = await MemberStorage.open(layout);
    expect(opened.identity).toEqual({ memberId: r.memberId, clusterId: r.clusterId });
    expect(opened.snapshot?.metadata.index).toBe(1);
    await opened.storage.close();

    await expect(restoreSnapshot(options(dir, file))).rejects.toThrow(`data-dir "${join(dir, 'r1')}" exists`);
  });

  it('refuses a damaged file, and a bare image unless --skip-hash-check', async () => {
    const dir = await tempDir();
    const file = join(dir, 'snap.db');
    await saveFile(await sourceStore(), file);
    const damaged = readFileSync(file);
    damaged[20]! ^= 0xff;
    writeFileSync(join(dir, 'damaged.db'), damaged);
    await expect(restoreSnapshot(options(dir, join(dir, 'damaged.db')))).rejects.toThrow(/^expected sha256 [0-9a-f]{64}, got [0-9a-f]{64}$/);

    const bare: Uint8Array[] = [];
    for await (const c of encodeSnapshot((await sourceStore()).readTxn())) bare.push(c);
    writeFileSync(join(dir, 'bare.db'), Buffer.concat(bare));
    const err = await restoreSnapshot(options(dir, join(dir, 'bare.db'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RestoreError);
    expect((err as Error).message).toBe('snapshot missing hash but --skip-hash-check=false');
    const r = await restoreSnapshot({ ...options(dir, join(dir, 'bare.db')), skipHashCheck: true });
    expect(r.entries).toBeGreaterThan(2);
  });
});
