/**
 * The import graph of a package's sources, read with TypeScript's own pre-processor (so
 * `import type`, re-exports and dynamic imports all count), and a cycle finder over it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export interface ImportGraph {
  /** File (relative to the source root, `/`-separated) → relative imports it makes, as files. */
  readonly files: ReadonlyMap<string, readonly string[]>;
  /** File → bare specifiers it imports (packages). */
  readonly packages: ReadonlyMap<string, readonly string[]>;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

export function importGraph(srcRoot: string): ImportGraph {
  const files = new Map<string, string[]>();
  const packages = new Map<string, string[]>();
  for (const path of sourceFiles(srcRoot)) {
    const from = relative(srcRoot, path).split('\\').join('/');
    const local: string[] = [];
    const external: string[] = [];
    for (const { fileName } of ts.preProcessFile(readFileSync(path, 'utf8'), true, true).importedFiles) {
      if (fileName.startsWith('.')) {
        local.push(relative(srcRoot, resolve(dirname(path), fileName.replace(/\.js$/, '.ts'))).split('\\').join('/'));
      } else {
        external.push(fileName);
      }
    }
    files.set(from, local);
    packages.set(from, external);
  }
  return { files, packages };
}

/** The folder a file belongs to; a file at the root is its own unit. */
export function unitOf(file: string): string {
  const slash = file.indexOf('/');
  return slash < 0 ? file : file.slice(0, slash);
}

/** Edges between units (folders, root files), each with one file-level import that makes it. */
export function unitEdges(graph: ImportGraph): Map<string, Map<string, string>> {
  const edges = new Map<string, Map<string, string>>();
  for (const [from, targets] of graph.files) {
    for (const to of targets) {
      const a = unitOf(from);
      const b = unitOf(to);
      if (a === b) continue;
      if (!edges.has(a)) edges.set(a, new Map());
      if (!edges.get(a)!.has(b)) edges.get(a)!.set(b, `${from} -> ${to}`);
    }
  }
  return edges;
}

/** Every strongly connected component of more than one node (each is at least one cycle). */
export function cycles(edges: ReadonlyMap<string, Iterable<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}
