/**
 * Failpoints: deliberate misbehaviour for robustness tests, as etcd's gofail. Off unless the
 * KVFLEET_FAILPOINTS environment variable is set, read once per process; production never sets
 * it, and a process with it logs a warning at start-up.
 *
 * - `name` or `name=value` items (comma separated) switch a built-in bug on (`failpoint(name)`).
 * - Named sites in the member (`await hit('walBeforeSave')`) run an action set at start-up the
 *   same way (`walBeforeSave=crash`) or at runtime through the member's HTTP endpoint
 *   `PUT /debug/failpoints/<name>` (only served while KVFLEET_FAILPOINTS is set; `off` clears).
 *   Actions: `crash` (SIGKILL itself, like a power cut for the process), `sleep(ms)`,
 *   `error` (throws, which a member treats as fatal like any persistence error). A few sites
 *   are known bugs rather than points (`putAckThenCrash=crash`: the leader acknowledges a put
 *   and dies before it is durable).
 */
let parsed: Map<string, string> | undefined;

function all(): Map<string, string> {
  if (parsed === undefined) {
    parsed = new Map();
    for (const item of (process.env.KVFLEET_FAILPOINTS ?? '').split(',')) {
      const [name, value] = item.split('=', 2);
      if (name !== undefined && name.trim() !== '') parsed.set(name.trim(), value?.trim() ?? '');
    }
  }
  return parsed;
}

/**
 * True when KVFLEET_FAILPOINTS is set at all: only then can failpoints be set at runtime. Sites
 * test it first (`if (failpointsOn) await hit(...)`), so a production hot path pays no await.
 */
export const failpointsOn = process.env.KVFLEET_FAILPOINTS !== undefined;

/** The failpoint's value ('' when set without one), or undefined when it is off. */
export function failpoint(name: string): string | undefined {
  return all().get(name);
}

/** Names of every failpoint that is on, for a loud warning at start-up. */
export function activeFailpoints(): string[] {
  return [...all().keys()];
}

const ACTION = /^(crash|error|sleep\((\d+)\)|off)$/;

/** Sets (or with 'off' clears) the action of failpoint `name`; throws on an unknown action or when failpoints are disabled. */
export function setFailpoint(name: string, action: string): void {
  if (!failpointsOn) throw new Error('failpoints are disabled (KVFLEET_FAILPOINTS is not set)');
  if (!ACTION.test(action)) throw new Error(`failpoint action "${action}" is not crash, error, sleep(ms) or off`);
  if (action === 'off') all().delete(name);
  else all().set(name, action);
}

/** A failpoint site: runs the action set for `name`, if any. Costs one boolean test when disabled. */
export async function hit(name: string): Promise<void> {
  if (!failpointsOn) return;
  const action = all().get(name);
  if (action === undefined || action === '') return;
  const m = ACTION.exec(action);
  if (m === null) return;
  if (m[1] === 'crash') {
    process.kill(process.pid, 'SIGKILL');
    // SIGKILL is delivered asynchronously; never go on to do the work after the site.
    await new Promise<never>(() => undefined);
  }
  if (m[1] === 'error') throw new Error(`failpoint ${name}: injected error`);
  if (m[2] !== undefined) await new Promise((r) => setTimeout(r, Number(m[2])));
}
