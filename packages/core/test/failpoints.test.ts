import { afterEach, describe, expect, it, vi } from 'vitest';

/** The module fresh, as a process started with `env` would load it. */
async function load(env: string | undefined) {
  vi.resetModules();
  if (env === undefined) delete process.env.KVFLEET_FAILPOINTS;
  else process.env.KVFLEET_FAILPOINTS = env;
  return import('../src/failpoints.js');
}

describe('failpoints', () => {
  const saved = process.env.KVFLEET_FAILPOINTS;
  afterEach(() => {
    if (saved === undefined) delete process.env.KVFLEET_FAILPOINTS;
    else process.env.KVFLEET_FAILPOINTS = saved;
  });

  it('are off without KVFLEET_FAILPOINTS: sites do nothing and nothing can be armed', async () => {
    const fp = await load(undefined);
    expect(fp.failpointsOn).toBe(false);
    expect(fp.failpoint('proxyStaleLinearizableRead')).toBeUndefined();
    await expect(fp.hit('walBeforeSave')).resolves.toBeUndefined();
    expect(() => fp.setFailpoint('walBeforeSave', 'error')).toThrow(/disabled/);
  });

  it('parse names and values from the environment', async () => {
    const fp = await load('proxyStaleLinearizableRead, proxyFeedDelayMs=300');
    expect(fp.failpoint('proxyStaleLinearizableRead')).toBe('');
    expect(fp.failpoint('proxyFeedDelayMs')).toBe('300');
    expect(fp.activeFailpoints()).toEqual(['proxyStaleLinearizableRead', 'proxyFeedDelayMs']);
  });

  it('armed at runtime: error throws at the site, sleep waits, off clears; bad actions are refused', async () => {
    const fp = await load('');
    expect(fp.failpointsOn).toBe(true);
    fp.setFailpoint('walBeforeSave', 'error');
    await expect(fp.hit('walBeforeSave')).rejects.toThrow('failpoint walBeforeSave: injected error');
    await expect(fp.hit('walAfterSave')).resolves.toBeUndefined();
    fp.setFailpoint('walBeforeSave', 'sleep(30)');
    const t0 = performance.now();
    await fp.hit('walBeforeSave');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    fp.setFailpoint('walBeforeSave', 'off');
    await expect(fp.hit('walBeforeSave')).resolves.toBeUndefined();
    expect(() => fp.setFailpoint('walBeforeSave', 'explode')).toThrow(/not crash, error, sleep/);
  });
});
