/** Member log lines (JSON, etcd's shape) turned into one readable line each for a terminal. */
const LEVEL_COLORS: Record<string, string> = { debug: '\x1b[90m', info: '\x1b[36m', warn: '\x1b[33m', error: '\x1b[31m' };
const RESET = '\x1b[0m';
/** Fields every line carries that the readable form already shows. */
const SHOWN = new Set(['level', 'ts', 'msg', 'name']);

export function formatLogLine(member: string, line: string, color: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${member} ${line}`;
  }
  if (typeof entry !== 'object' || entry === null || typeof entry.msg !== 'string') return `${member} ${line}`;
  const level = typeof entry.level === 'string' ? entry.level : 'info';
  const time = typeof entry.ts === 'string' ? entry.ts.slice(11, 23) : '';
  const fields = Object.entries(entry)
    .filter(([k]) => !SHOWN.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const lvl = level.toUpperCase().padEnd(5);
  const tag = color ? `${LEVEL_COLORS[level] ?? ''}${lvl}${RESET}` : lvl;
  return `${time} ${member.padEnd(7)} ${tag} ${entry.msg}${fields === '' ? '' : `  ${fields}`}`;
}
