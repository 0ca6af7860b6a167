import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { main } from '../src/main.js';

/** The package version, read the same way a user would see it in cmd/package.json. */
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

let out: string[];
let err: string[];
let outSpy: MockInstance<typeof process.stdout.write>;
let errSpy: MockInstance<typeof process.stderr.write>;

beforeEach(() => {
  out = [];
  err = [];
  // Capture instead of printing: the CLI writes straight to the process streams.
  outSpy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  errSpy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  });
});

afterEach(() => {
  outSpy.mockRestore();
  errSpy.mockRestore();
});

describe('main', () => {
  it('--help prints usage to stdout and returns 0', async () => {
    expect(await main(['--help'])).toBe(0);
    expect(out.join('')).toContain('Usage: kvfleet <command> [options]');
    expect(err).toEqual([]);
  });

  it('-h, the help command and no arguments all print usage', async () => {
    for (const argv of [['-h'], ['help'], []]) {
      out = [];
      expect(await main(argv)).toBe(0);
      expect(out.join('')).toContain('Usage: kvfleet');
    }
    expect(err).toEqual([]);
  });

  it('--help wins over an unknown command', async () => {
    expect(await main(['frobnicate', '--help'])).toBe(0);
    expect(err).toEqual([]);
  });

  it('--version and -v print the package version', async () => {
    expect(await main(['--version'])).toBe(0);
    expect(await main(['-v'])).toBe(0);
    expect(out).toEqual([`kvfleet ${VERSION}\n`, `kvfleet ${VERSION}\n`]);
  });

  it('an unknown command returns 2 with a message and usage on stderr', async () => {
    expect(await main(['frobnicate'])).toBe(2);
    const text = err.join('');
    expect(text).toContain('kvfleet: unknown command "frobnicate"');
    expect(text).toContain('Usage: kvfleet');
    expect(out).toEqual([]);
  });
  it('an unknown option returns 2 with the reason on stderr', async () => {
    expect(await main(['--foo'])).toBe(2);
    expect(out.join('')).toBe('');
    expect(err.join('')).toContain("Unknown option '--foo'");
  });
});
