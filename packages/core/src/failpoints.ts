/**
 * Failpoints: deliberate misbehaviour for robustness tests, switched on only by the
 * KVFLEET_FAILPOINTS environment variable (`name` or `name=value`, comma separated), read once
 * per process. Production never sets it. The robustness suite turns known bugs on to prove its
 * checkers catch them.
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

/** The failpoint's value ('' when set without one), or undefined when it is off. */
export function failpoint(name: string): string | undefined {
  return all().get(name);
}

/** Names of every failpoint that is on, for a loud warning at start-up. */
export function activeFailpoints(): string[] {
  return [...all().keys()];
}
