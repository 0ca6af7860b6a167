import type { ClusterKind } from './cluster.js';
import { INSTALL_HINTS, requireBinary } from './requirements.js';

export interface CompatTarget {
  kind: ClusterKind;
  /** False when KVFLEET_COMPAT_TARGETS leaves this kind out, or (locally) its binary is missing. */
  enabled: boolean;
}

/** Targets run when KVFLEET_COMPAT_TARGETS is unset. */
export const DEFAULT_COMPAT_TARGETS = 'etcd,kvfleet';

const ALL_KINDS: readonly ClusterKind[] = ['etcd', 'kvfleet'];

/** The kinds named in KVFLEET_COMPAT_TARGETS (a comma list, default DEFAULT_COMPAT_TARGETS). */
export function selectedKinds(): Set<ClusterKind> {
  const raw = process.env.KVFLEET_COMPAT_TARGETS ?? DEFAULT_COMPAT_TARGETS;
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of names) {
    if (!ALL_KINDS.includes(name as ClusterKind)) {
      throw new Error(`KVFLEET_COMPAT_TARGETS names unknown target '${name}' (known: ${ALL_KINDS.join(', ')})`);
    }
  }
  return new Set(names as ClusterKind[]);
}

/**
 * The table every compatibility suite is parameterized by: one row per server kind, each
 * enabled when selected by KVFLEET_COMPAT_TARGETS and its server can be started (the etcd
 * binary for 'etcd'; under CI=true a missing one fails the suite instead).
 */
export function compatTargets(): CompatTarget[] {
  const selected = selectedKinds();
  return ALL_KINDS.map((kind) => {
    if (!selected.has(kind)) return { kind, enabled: false };
    if (kind === 'etcd' && process.env.KVFLEET_ETCD_BIN === undefined) {
      return { kind, enabled: requireBinary('etcd', INSTALL_HINTS.etcd) };
    }
    return { kind, enabled: true };
  });
}
