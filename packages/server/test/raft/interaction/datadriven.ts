/**
 * The test-file format: a command line, optional argument lines, a `----` line, then the
 * expected output up to a blank line (or the end of the file). Lines outside blocks (comments
 * starting with `#`, blank lines) are kept verbatim so a rewrite touches only the outputs.
 */

export interface Block {
  /** 1-based line number of the command, for messages. */
  readonly line: number;
  readonly command: string;
  readonly argLines: readonly string[];
  readonly expected: readonly string[];
}

type Segment = { kind: 'verbatim'; text: string } | { kind: 'block'; block: Block };

export interface TestFile {
  readonly segments: readonly Segment[];
}

export const SEPARATOR = '----';

export function parseTestFile(text: string): TestFile {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const segments: Segment[] = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i]!;
    if (l.trim() === '' || l.startsWith('#')) {
      segments.push({ kind: 'verbatim', text: l });
      i++;
      continue;
    }
    const start = i;
    const command = l;
    const argLines: string[] = [];
    i++;
    while (i < lines.length && lines[i] !== SEPARATOR) {
      if (lines[i]!.trim() === '') throw new Error(`line ${start + 1}: command "${command}" has no ${SEPARATOR} line`);
      argLines.push(lines[i]!);
      i++;
    }
    if (i >= lines.length) throw new Error(`line ${start + 1}: command "${command}" has no ${SEPARATOR} line`);
    i++;
    const expected: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== '') expected.push(lines[i++]!);
    segments.push({ kind: 'block', block: { line: start + 1, command, argLines, expected } });
  }
  return { segments };
}

/** The file with each block's output replaced by `actual(block)`. */
export function renderTestFile(f: TestFile, actual: (b: Block) => readonly string[]): string {
  const out: string[] = [];
  for (const s of f.segments) {
    if (s.kind === 'verbatim') {
      out.push(s.text);
      continue;
    }
    out.push(s.block.command, ...s.block.argLines, SEPARATOR, ...actual(s.block));
  }
  return out.join('\n') + '\n';
}

export function blocks(f: TestFile): Block[] {
  return f.segments.flatMap((s) => (s.kind === 'block' ? [s.block] : []));
}

/** A line diff (longest common subsequence): "  " same, "- " expected only, "+ " actual only. */
export function lineDiff(expected: readonly string[], actual: readonly string[]): string[] {
  const n = expected.length;
  const m = actual.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = expected[i] === actual[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && expected[i] === actual[j]) {
      out.push(`  ${expected[i++]}`);
      j++;
    } else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      out.push(`- ${expected[i++]}`);
    } else {
      out.push(`+ ${actual[j++]}`);
    }
  }
  return out;
}
