// The status page (/status) of a member and of a proxy, in headless Chromium (Debian's
// `chromium`, driven by playwright-core): three real members and a proxy, writes and reads,
// then the page must load with no console error and no request to another origin, show
// every member and the leader, draw charts holding non-zero rates, and be captured 390 px wide
// (a phone) for docs/observability.md.
import { mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { proto } from '@kvfleet/core';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSTALL_HINTS, requireBinary, whichBinary } from '../harness/requirements.js';
import { useCluster } from '../harness/use-cluster.js';

const PHONE = { width: 390, height: 844 };
const SCREENSHOTS = join(tmpdir(), 'kvfleet-status-page');

describe.skipIf(!requireBinary('chromium', INSTALL_HINTS.chromium))('status page', () => {
  const cluster = useCluster({ kind: 'kvfleet', size: 3, proxy: true, startTimeoutMs: 90_000 });
  let browser: Browser | undefined;

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: whichBinary('chromium')!,
      // Root (CI) cannot use Chromium's sandbox.
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    await mkdir(SCREENSHOTS, { recursive: true });
    // Writes through one member, reads through a member and the proxy, so every chart has data.
    const c = cluster();
    for (const url of [c.memberClientUrls[0]!, c.clientUrls[0]!]) {
      const kv = proto.createClient('KV', new URL(url).host);
      try {
        for (let i = 0; i < 20; i++) {
          if (url === c.memberClientUrls[0]) await proto.unaryCall(kv.Put.bind(kv), { key: Buffer.from(`status/${i}`), value: Buffer.from('v') });
          await proto.unaryCall(kv.Range.bind(kv), { key: Buffer.from(`status/${i}`) });
        }
      } finally {
        kv.close();
      }
    }
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  /** Opens `url`/status on a phone-sized page; returns what the page logged and requested. */
  async function open(url: string, shot: string) {
    const page = await browser!.newPage({ viewport: PHONE });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`${url}/status`);
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 10_000 });
    // A second refresh (2 s later) must redraw without error too.
    await page.waitForTimeout(2_500);
    const cards = await page.$$eval('[data-member-id]', (els) =>
      els.map((e) => ({ id: (e as HTMLElement).dataset.memberId, text: e.textContent ?? '', leader: e.querySelector('.badge.leader') !== null })),
    );
    const charts = await page.$$eval('[data-chart]', (els) =>
      els.map((e) => ({ name: (e as HTMLElement).dataset.chart, max: Number((e as HTMLElement).dataset.max), drawn: e.querySelector('polyline') !== null })),
    );
    const summary = (await page.textContent('#summary')) ?? '';
    const proxyShown = await page.isVisible('#proxy');
    const path = join(SCREENSHOTS, shot);
    await page.screenshot({ path, fullPage: true });
    await page.close();
    return { errors, requests, cards, charts, summary, proxyShown, path };
  }

  function expectPage(r: Awaited<ReturnType<typeof open>>, origin: string): void {
    expect(r.errors).toEqual([]);
    // Only same-origin requests (the icon is an inline data: URL).
    expect(r.requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:'))).toEqual([]);
    expect(r.cards).toHaveLength(3);
    for (const card of r.cards) expect(card.text).toContain('revision');
    expect(r.cards.filter((c) => c.leader)).toHaveLength(1);
    expect(r.summary).toMatch(/leader \w+/);
    expect(r.summary).not.toContain('no leader');
    const max = Object.fromEntries(r.charts.map((c) => [c.name, c.max]));
    expect(max.writes).toBeGreaterThan(0);
    expect(max.reads).toBeGreaterThan(0);
    expect(r.charts.filter((c) => !c.drawn)).toEqual([]);
    // A PNG's width is at byte 16 of its header.
    expect(readFileSync(r.path).readUInt32BE(16)).toBe(PHONE.width);
  }

  it('on a member: every member, the leader, charts with data', async () => {
    const url = cluster().memberClientUrls[0]!;
    const r = await open(url, 'status-member.png');
    expectPage(r, new URL(url).origin);
    expect(r.proxyShown).toBe(false);
    expect(r.cards.filter((c) => c.text.includes('this member'))).toHaveLength(1);
    console.log(`[status page] screenshots in ${SCREENSHOTS}`);
  }, 60_000);

  it('on a proxy: its upstream, revision and lag, and the members behind it', async () => {
    const url = cluster().clientUrls[0]!;
    const r = await open(url, 'status-proxy.png');
    expectPage(r, new URL(url).origin);
    expect(r.proxyShown).toBe(true);
  }, 60_000);

  it('answers /status.json with the member list and a history', async () => {
    const res = await fetch(`${cluster().memberClientUrls[1]!}/status.json`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { role: string; members: { status?: { revision: number } }[]; history: unknown[] };
    expect(body.role).toBe('member');
    expect(body.members.every((m) => (m.status?.revision ?? 0) > 1)).toBe(true);
    expect(body.history.length).toBeGreaterThanOrEqual(2);
    const page = await fetch(`${cluster().memberClientUrls[1]!}/status`);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
  });
});
