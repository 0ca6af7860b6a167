/**
 * The chart of bench/RESULTS.md: per workload, each system's throughput and p99 as a ratio of
 * etcd's in the same run (etcd = 1), two panels side by side, as a standalone SVG. Ratios keep
 * workloads of very different scales readable on one axis.
 */

export interface ChartBar {
  readonly workload: string;
  readonly system: string;
  /** Throughput (or deliveries) divided by etcd's for the same workload. */
  readonly throughputRatio: number;
  /** p99 latency divided by etcd's (lower is better). */
  readonly p99Ratio: number;
}

const COLORS: readonly [RegExp, string][] = [
  [/^etcd \(/, '#7f7f7f'],
  [/^etcd \+/, '#e3a33b'],
  [/^kvfleet \(/, '#2f6fb3'],
  [/^kvfleet \+/, '#3a9a5b'],
  // An earlier commit's build (--baseline): lighter shades of the same two.
  [/^kvfleet@\S+ \(/, '#9bbde3'],
  [/^kvfleet@\S+ \+/, '#a3d4b2'],
  [/^null/, '#c8c8c8'],
];

function colorOf(system: string): string {
  return COLORS.find(([re]) => re.test(system))?.[1] ?? '#9467bd';
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function ratioChartSvg(bars: readonly ChartBar[], title: string): string {
  const workloads = [...new Set(bars.map((b) => b.workload))];
  const systems = [...new Set(bars.map((b) => b.system))];
  const barHeight = 11;
  const groupGap = 14;
  const labelWidth = 300;
  const panelWidth = 300;
  const top = 56;
  const groupHeight = (w: string) => bars.filter((b) => b.workload === w).length * barHeight + groupGap;
  const height = top + workloads.reduce((sum, w) => sum + groupHeight(w), 0) + 24 + systems.length * 16;
  const width = labelWidth + 2 * panelWidth + 60;
  const axisMax = (pick: (b: ChartBar) => number) => Math.max(2, Math.ceil(Math.max(...bars.map(pick).filter(Number.isFinite)) * 2) / 2);
  const maxThroughput = axisMax((b) => b.throughputRatio);
  const maxP99 = Math.min(6, axisMax((b) => b.p99Ratio));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="10">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="8" y="16" font-size="13" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  const panels = [
    { x: labelWidth, label: 'throughput ÷ etcd (higher is better)', max: maxThroughput, pick: (b: ChartBar) => b.throughputRatio },
    { x: labelWidth + panelWidth + 40, label: 'p99 latency ÷ etcd (lower is better)', max: maxP99, pick: (b: ChartBar) => b.p99Ratio },
  ];
  for (const p of panels) {
    const scale = (v: number) => (Math.min(v, p.max) / p.max) * panelWidth;
    out.push(`<text x="${p.x}" y="36" font-weight="bold">${escapeXml(p.label)}</text>`);
    for (let tick = 0; tick <= p.max; tick += p.max > 4 ? 1 : 0.5) {
      const x = p.x + scale(tick);
      out.push(`<line x1="${x}" y1="${top - 8}" x2="${x}" y2="${height - 28 - systems.length * 16}" stroke="${tick === 1 ? '#333' : '#e5e5e5'}"/>`);
      out.push(`<text x="${x}" y="${top - 11}" text-anchor="middle" fill="#555">${tick}×</text>`);
    }
  }
  let y = top;
  for (const w of workloads) {
    const group = bars.filter((b) => b.workload === w);
    out.push(`<text x="${labelWidth - 8}" y="${y + (group.length * barHeight) / 2 + 4}" text-anchor="end">${escapeXml(w)}</text>`);
    for (const b of group) {
      for (const p of panels) {
        const v = p.pick(b);
        if (!Number.isFinite(v)) continue;
        const len = (Math.min(v, p.max) / p.max) * panelWidth;
        out.push(`<rect x="${p.x}" y="${y + 1}" width="${Math.max(1, len)}" height="${barHeight - 2}" fill="${colorOf(b.system)}"/>`);
        out.push(`<text x="${p.x + len + 3}" y="${y + barHeight - 2}" fill="#333">${v.toFixed(2)}${v > p.max ? ' →' : ''}</text>`);
      }
      y += barHeight;
    }
    y += groupGap;
  }
  y += 8;
  for (const s of systems) {
    out.push(`<rect x="${labelWidth}" y="${y}" width="10" height="10" fill="${colorOf(s)}"/>`, `<text x="${labelWidth + 16}" y="${y + 9}">${escapeXml(s)}</text>`);
    y += 16;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
