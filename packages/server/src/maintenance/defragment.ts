/**
 * Maintenance.Defragment on this member's backend: LMDB replaces its store with a compacted
 * copy (LmdbBackend.defragment explains how reads and writes go on); the memory backend has
 * no free pages to return, so there is nothing to do and it reports success.
 */
import type { Backend } from '../backend/backend.js';
import { LmdbBackend } from '../backend/lmdb-backend.js';

export async function defragmentBackend(backend: Backend): Promise<void> {
  if (backend instanceof LmdbBackend) await backend.defragment();
}
