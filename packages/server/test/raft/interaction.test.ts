import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blocks, lineDiff, parseTestFile, renderTestFile, type Block } from './interaction/datadriven.js';
import { InteractionEnv, parseCommand } from './interaction/env.js';

/**
 * Runs every testdata/*.txt scenario through a fresh InteractionEnv. With REWRITE_TESTDATA=1
 * the files are rewritten with the actual output instead (review the diff before keeping it).
 */

const dir = fileURLToPath(new URL('./testdata/', import.meta.url));
const rewrite = process.env['REWRITE_TESTDATA'] === '1';
const files = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();

describe('raft interaction scenarios', () => {
  it('has scenarios', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const name of files) {
    it(name, () => {
      const path = join(dir, name);
      const file = parseTestFile(readFileSync(path, 'utf8'));
      const env = new InteractionEnv();
      const actual = new Map<Block, string[]>();
      const failures: string[] = [];
      for (const b of blocks(file)) {
        let out: string[];
        try {
          out = env.handle(parseCommand(b.command, b.argLines));
        } catch (e) {
          throw new Error(`${name}:${b.line}: ${b.command}: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
        }
        actual.set(b, out);
        if (out.join('\n') !== b.expected.join('\n')) {
          failures.push(`${name}:${b.line}: ${b.command}\n${lineDiff(b.expected, out).join('\n')}`);
        }
      }
      if (rewrite) {
        writeFileSync(path, renderTestFile(file, (b) => actual.get(b)!));
        return;
      }
      // Later blocks usually fail because an earlier one did: show the first few in full.
      if (failures.length > 0) {
        const shown = failures.slice(0, 3).join('\n\n');
        const more = failures.length > 3 ? `\n\n(${failures.length - 3} more differing blocks)` : '';
        expect.fail(`output differs (- expected, + actual):\n\n${shown}${more}`);
      }
    });
  }
});
