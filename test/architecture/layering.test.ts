/**
 * The layering, as a test: which package may import which, the order of the server's folders,
 * and no import cycle between files anywhere (`import type` included). A change that adds a
 * cycle or an upward import fails here with the import that did it; see docs/architecture.md.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cycles, importGraph, unitEdges, unitOf } from './import-graph.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const src = (pkg: string): string => `${root}packages/${pkg}/src`;

/** Which workspace packages each package may import: core at the bottom, proxy and server beside each other. */
const PACKAGE_DIRECTION: Record<string, readonly string[]> = {
  core: [],
  server: ['@kvfleet/core'],
  proxy: ['@kvfleet/core'],
};

/**
 * The server's folders (and root files), bottom first. A unit imports only units of lower
 * layers: the Raft core and the backend know nothing of a member; env/ is the world a member
 * sees (the real one wires the gRPC transport); the member (etcdserver) knows nothing of its
 * gRPC services; `embed` assembles a running member from all of them.
 */
const SERVER_LAYERS: readonly (readonly string[])[] = [
  ['raft', 'backend', 'logger.ts', 'version.ts'],
  ['transport', 'mvcc'],
  ['env'],
  ['wal', 'lease', 'apply', 'member'],
  ['snap', 'metrics'],
  ['storage'],
  ['maintenance'],
  ['etcdserver'],
  ['concurrency', 'http'],
  ['api'],
  ['embed'],
  ['index.ts'],
];

describe('layering', () => {
  for (const [pkg, allowed] of Object.entries(PACKAGE_DIRECTION)) {
    it(`${pkg} imports only ${allowed.length === 0 ? 'no workspace package' : allowed.join(', ')}, and nothing outside its src by path`, () => {
      const graph = importGraph(src(pkg));
      const wrong: string[] = [];
      for (const [file, specifiers] of graph.packages) {
        for (const s of specifiers) if (s.startsWith('@kvfleet/') && !allowed.some((a) => s === a || s.startsWith(`${a}/`))) wrong.push(`${file} -> ${s}`);
      }
      for (const [file, targets] of graph.files) for (const t of targets) if (t.startsWith('../')) wrong.push(`${file} -> ${t}`);
      expect(wrong).toEqual([]);
    });

    it(`${pkg}: no import cycle between files or between folders`, () => {
      const graph = importGraph(src(pkg));
      expect(cycles(graph.files)).toEqual([]);
      const folders = new Map([...unitEdges(graph)].map(([from, to]) => [from, [...to.keys()]]));
      expect(cycles(folders)).toEqual([]);
    });
  }

  it('the server imports down its layers only', () => {
    const layerOf = new Map<string, number>();
    SERVER_LAYERS.forEach((units, i) => units.forEach((u) => layerOf.set(u, i)));
    const graph = importGraph(src('server'));
    const unknown = [...new Set([...graph.files.keys()].map(unitOf))].filter((u) => !layerOf.has(u));
    expect(unknown, 'every folder has a layer (add a new one to SERVER_LAYERS)').toEqual([]);
    const upward: string[] = [];
    for (const [from, targets] of unitEdges(graph)) {
      for (const [to, example] of targets) if (layerOf.get(to)! >= layerOf.get(from)!) upward.push(`${from} -> ${to} (${example})`);
    }
    expect(upward).toEqual([]);
  });

  it('only the member itself and the assembly import EtcdServer; everything else takes the roles it uses', () => {
    const graph = importGraph(src('server'));
    const importers = [...graph.files].filter(([, targets]) => targets.includes('etcdserver/etcd-server.ts')).map(([file]) => file);
    expect(importers.filter((f) => !f.startsWith('etcdserver/') && !f.startsWith('embed/'))).toEqual([]);
  });

  it('the cycle check finds a cycle, and the layer check an upward import', () => {
    expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c']]);
    expect(cycles(new Map([['a', ['b']], ['b', []]]))).toEqual([]);
    const edges = unitEdges({ files: new Map([['raft/x.ts', ['etcdserver/y.ts']], ['etcdserver/y.ts', ['raft/z.ts']]]), packages: new Map() });
    expect([...edges.get('raft')!.keys()]).toEqual(['etcdserver']);
    expect(cycles(new Map([...edges].map(([k, v]) => [k, [...v.keys()]])))).toEqual([['etcdserver', 'raft']]);
  });
});
