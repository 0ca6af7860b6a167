import type { ClusterKind } from './cluster.js';
import { INSTALL_HINTS, requireBinary } from './requirements.js';

export interface CompatTarget {
  /** The members' kind (behind the proxy, for a proxied target). */
  kind: ClusterKind;
  /** True for `etcd+proxy` / `kvfleet+proxy`: the suite talks to one kvfleet proxy in front of the members. */
  proxy: boolean;
  /** `etcd`, `kvfleet`, `etcd+proxy` or `kvfleet+proxy`, for describe titles. */
  name: string;
  /** False when KVFLEET_COMPAT_TARGETS leaves this kind out, or (locally) its binary is missing. */
  enabled: boolean;
}

export interface CompatTargetOptions {
  /**
   * Also return the proxied rows (`etcd+proxy`, `kvfleet+proxy`). They are enabled when their
   * members' kind is, unless KVFLEET_PROXY_TARGETS=0. Pass `proxy: target.proxy` on to useCluster.
   */
  proxies?: boolean;
}

/** KVFLEET_PROXY_TARGETS=0 turns the proxied compat targets off (to run only the direct rows). */
export function proxyTargetsEnabled(): boolean {
  return process.env.KVFLEET_PROXY_TARGETS !== '0';
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
export function compatTargets(options: CompatTargetOptions = {}): CompatTarget[] {
  const selected = selectedKinds();
  const direct = ALL_KINDS.map((kind): CompatTarget => {
    const row = { kind, proxy: false, name: kind };
    if (!selected.has(kind)) return { ...row, enabled: false };
    if (kind === 'etcd' && process.env.KVFLEET_ETCD_BIN === undefined) {
      return { ...row, enabled: requireBinary('etcd', INSTALL_HINTS.etcd) };
    }
    return { ...row, enabled: true };
  });
  if (options.proxies !== true) return direct;
  // Rows are always listed (so titles show what was skipped); only the gate enables them.
  const proxied = direct.map((t): CompatTarget => ({ kind: t.kind, proxy: true, name: `${t.kind}+proxy`, enabled: t.enabled && proxyTargetsEnabled() }));
  return [...direct, ...proxied];
}
