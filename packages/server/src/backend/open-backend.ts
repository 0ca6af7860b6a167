/**
 * Chooses a backend by kind, so the server can take it from a flag (`--backend lmdb|memory`).
 */
import type { Backend, BackendKind } from './backend.js';
import { BackendError } from './errors.js';
import { LmdbBackend } from './lmdb-backend.js';
import { MemoryBackend } from './memory-backend.js';

export interface OpenBackendOptions {
  /** Which implementation. */
  readonly kind: BackendKind;
  /** Directory of the store; required for 'lmdb', ignored for 'memory'. */
  readonly path?: string;
}

/** Opens a backend of `options.kind`; throws ErrBackendInvalidArgument for an unknown kind or a missing path. */
export function openBackend(options: OpenBackendOptions): Backend {
  switch (options.kind) {
    case 'memory':
      return MemoryBackend.open();
    case 'lmdb':
      if (options.path === undefined || options.path === '') {
        throw new BackendError('ErrBackendInvalidArgument', "kind 'lmdb' needs a path");
      }
      return LmdbBackend.open({ path: options.path });
    default:
      throw new BackendError('ErrBackendInvalidArgument', `unknown backend kind ${String((options as { kind: unknown }).kind)}`);
  }
}
