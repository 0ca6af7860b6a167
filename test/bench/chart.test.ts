import { describe, expect, it } from 'vitest';
import { ratioChartSvg } from './chart.js';

describe('benchmark chart', () => {
  it('draws one bar per system and panel, labels each workload once, and marks clipped ratios', () => {
    const svg = ratioChartSvg(
      [
        { workload: 'put & get', system: 'etcd (3 members)', throughputRatio: 1, p99Ratio: 1 },
        { workload: 'put & get', system: 'kvfleet (3 members)', throughputRatio: 1.6, p99Ratio: 0.5 },
        { workload: 'watch <a>', system: 'etcd (3 members)', throughputRatio: 1, p99Ratio: 1 },
        { workload: 'watch <a>', system: 'kvfleet (3 members)', throughputRatio: 2.5, p99Ratio: 40 },
      ],
      'title',
    );
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<rect x="\d+" y="\d+" width="[\d.]+" height="9"/g)).toHaveLength(8);
    expect(svg).toContain('put &amp; get');
    expect(svg).toContain('watch &lt;a&gt;');
    expect(svg).toContain('40.00 →');
    expect(svg).toContain('1.60<');
  });
});
