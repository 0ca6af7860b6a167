import { activeFailpoints } from '@kvfleet/core';

/** A process running with robustness failpoints must say so loudly: it misbehaves on purpose. */
export function warnFailpoints(logger: { warn(msg: string, fields?: Record<string, unknown>): void }): void {
  const active = activeFailpoints();
  if (active.length > 0) logger.warn('KVFLEET_FAILPOINTS is set: deliberate faults are on (tests only)', { failpoints: active });
}
