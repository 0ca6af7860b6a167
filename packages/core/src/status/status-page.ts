/**
 * The status page itself: one HTML document, its stylesheet and its script, served as they are
 * (no build step, no external asset). The script polls `/status.json` every two seconds and
 * redraws; charts are inline SVG drawn from the snapshot's history (rates between samples).
 * Layout is a single column of cards, so it reads on a phone as on a desktop.
 */

export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kvfleet status</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/status/app.css">
<script src="/status/app.js" defer></script>
</head>
<body>
<header>
  <h1 id="title">kvfleet</h1>
  <p id="summary">Loading…</p>
  <p id="error" class="error" hidden></p>
</header>
<main>
  <section id="proxy" hidden>
    <h2>This proxy</h2>
    <dl id="proxy-fields" class="fields"></dl>
  </section>
  <section>
    <h2 id="members-title">Members</h2>
    <div id="members" class="cards"></div>
  </section>
  <section>
    <h2>Last minutes</h2>
    <div id="charts" class="charts"></div>
  </section>
</main>
<footer><span id="updated"></span></footer>
</body>
</html>
`;

export const STATUS_PAGE_CSS = `
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #5a6370; --bg: #f6f7f9; --card: #fff; --line: #d9dde3; --accent: #1f6feb; --bad: #c62828; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --muted: #9aa4b1; --bg: #111418; --card: #1a1f25; --line: #2c333b; --accent: #58a6ff; --bad: #ef5350; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header, main, footer { max-width: 60rem; margin: 0 auto; padding: 0 1rem; }
header { padding-top: 1rem; }
h1 { font-size: 1.35rem; margin: 0 0 .25rem; }
h2 { font-size: 1.05rem; margin: 1.25rem 0 .5rem; }
#summary { margin: 0; color: var(--muted); overflow-wrap: anywhere; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(17rem, 1fr)); gap: .75rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: .5rem; padding: .75rem; }
.card h3 { font-size: 1rem; margin: 0 0 .4rem; display: flex; flex-wrap: wrap; gap: .35rem; align-items: center; overflow-wrap: anywhere; }
.badge { font-size: .75rem; font-weight: 600; padding: .05rem .45rem; border-radius: 1rem; border: 1px solid var(--line); color: var(--muted); }
.badge.leader { color: #fff; background: var(--accent); border-color: var(--accent); }
.badge.bad { color: #fff; background: var(--bad); border-color: var(--bad); }
.fields { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .75rem; margin: 0; }
.fields dt { color: var(--muted); }
.fields dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
#proxy .fields { background: var(--card); border: 1px solid var(--line); border-radius: .5rem; padding: .75rem; }
.error { color: var(--bad); }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(17rem, 1fr)); gap: .75rem; }
.chart { background: var(--card); border: 1px solid var(--line); border-radius: .5rem; padding: .5rem .75rem; }
.chart p { margin: 0 0 .25rem; display: flex; justify-content: space-between; gap: .5rem; }
.chart .value { font-weight: 600; font-variant-numeric: tabular-nums; }
.chart svg { width: 100%; height: 4.5rem; display: block; }
.chart polyline { fill: none; stroke: var(--accent); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.chart .area { fill: var(--accent); opacity: .12; stroke: none; }
.chart .axis { stroke: var(--line); stroke-width: 1; vector-effect: non-scaling-stroke; }
footer { color: var(--muted); font-size: .85rem; padding-top: 1rem; padding-bottom: 1.5rem; }
`;

export const STATUS_PAGE_SCRIPT = `'use strict';
(() => {
  const REFRESH_MS = 2000;
  const SVG = 'http://www.w3.org/2000/svg';
  const byId = (id) => document.getElementById(id);

  function el(tag, className, ...children) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  function bytes(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let v = n;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
    return (i === 0 ? String(v) : v.toFixed(1)) + ' ' + units[i];
  }

  function number(n) { return Number(n).toLocaleString('en-US'); }

  function fields(dl, rows) {
    dl.replaceChildren();
    for (const [label, value, cls] of rows) {
      dl.append(el('dt', '', label), el('dd', cls || '', value));
    }
  }

  function memberCard(m, leader) {
    const card = el('article', 'card');
    card.dataset.memberId = m.id;
    const title = el('h3', '', m.name || '(unstarted)');
    if (m.id === leader) title.append(el('span', 'badge leader', 'leader'));
    if (m.isLearner) title.append(el('span', 'badge', 'learner'));
    if (m.self) title.append(el('span', 'badge', 'this member'));
    const s = m.status;
    if (s && s.errors.length > 0) title.append(el('span', 'badge bad', s.errors.length === 1 ? '1 error' : s.errors.length + ' errors'));
    card.append(title);
    const dl = el('dl', 'fields');
    const rows = [['id', m.id], ['client', m.clientUrls.join(', ') || '—']];
    if (s) {
      rows.push(
        ['term', number(s.raftTerm)],
        ['revision', number(s.revision)],
        ['raft index', number(s.raftIndex)],
        ['applied', number(s.raftAppliedIndex)],
        ['database', bytes(s.dbSize) + ' (' + bytes(s.dbSizeInUse) + ' in use)'],
        ['version', s.version],
      );
      for (const e of s.errors) rows.push(['alarm', e, 'error']);
    } else {
      rows.push(['status', m.error || 'unknown', 'error']);
    }
    fields(dl, rows);
    card.append(dl);
    return card;
  }

  // Rates per second between consecutive samples; counters that went down (a restart) count from zero.
  function rates(history, field) {
    const out = [];
    for (let i = 1; i < history.length; i++) {
      const a = history[i - 1];
      const b = history[i];
      const dt = (b.t - a.t) / 1000;
      if (dt <= 0) continue;
      const d = b[field] >= a[field] ? b[field] - a[field] : b[field];
      out.push({ t: b.t, v: d / dt });
    }
    return out;
  }

  function chart(name, label, points, unit) {
    const box = el('figure', 'chart');
    box.style.margin = '0';
    box.dataset.chart = name;
    const max = points.reduce((m, p) => Math.max(m, p.v), 0);
    box.dataset.max = String(max);
    const last = points.length > 0 ? points[points.length - 1].v : 0;
    box.append(el('p', '', el('span', '', label), el('span', 'value', (last >= 100 ? Math.round(last) : Number(last.toFixed(1))) + ' ' + unit)));
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', '0 0 300 80');
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label + ', peak ' + Math.round(max) + ' ' + unit);
    const axis = document.createElementNS(SVG, 'line');
    axis.setAttribute('class', 'axis');
    axis.setAttribute('x1', '0'); axis.setAttribute('y1', '79'); axis.setAttribute('x2', '300'); axis.setAttribute('y2', '79');
    svg.append(axis);
    // One rate so far (a fresh process): a level line across the chart.
    if (points.length === 1) points = [{ t: points[0].t - 1, v: points[0].v }, points[0]];
    if (points.length > 1) {
      const t0 = points[0].t;
      const span = Math.max(1, points[points.length - 1].t - t0);
      const top = max > 0 ? max : 1;
      const xy = points.map((p) => [((p.t - t0) / span) * 300, 79 - (p.v / top) * 74]);
      const coords = xy.map(([x, y]) => x.toFixed(1) + ',' + y.toFixed(1)).join(' ');
      const area = document.createElementNS(SVG, 'polygon');
      area.setAttribute('class', 'area');
      area.setAttribute('points', '0,79 ' + coords + ' 300,79');
      const line = document.createElementNS(SVG, 'polyline');
      line.setAttribute('points', coords);
      svg.append(area, line);
    }
    box.append(svg);
    return box;
  }

  function render(s) {
    const leaderRow = s.members.find((m) => m.id === s.leader);
    const leaderName = s.leader === '0' ? 'no leader' : 'leader ' + (leaderRow ? leaderRow.name || s.leader : s.leader);
    byId('title').textContent = 'kvfleet ' + s.role + ' ' + s.name;
    const parts = ['cluster ' + s.clusterId, leaderName, s.members.length + (s.members.length === 1 ? ' member' : ' members')];
    if (s.version) parts.push('v' + s.version);
    byId('summary').textContent = parts.join(' · ');
    byId('error').textContent = s.error || '';
    byId('error').hidden = !s.error;
    const proxy = byId('proxy');
    if (s.proxy) {
      const p = s.proxy;
      proxy.hidden = false;
      fields(byId('proxy-fields'), [
        ['state', p.ready ? 'serving from its cache' : 'not synced yet', p.ready ? '' : 'error'],
        ['upstream', p.upstream.join(', ')],
        ['calling', p.currentEndpoint + (p.leaderEndpoint ? ' (leader ' + p.leaderEndpoint + ')' : '')],
        ['revision', number(p.revision) + ' of ' + number(p.upstreamRevision)],
        ['lag', number(p.lagRevisions) + ' revisions, ' + number(Math.round(p.lagMs)) + ' ms'],
        ['watchers', number(p.watchers)],
        ['cache', number(p.cacheKeys) + ' keys, ' + bytes(p.cacheBytes)],
        ['memory', bytes(p.rssBytes) + ' resident, ' + bytes(p.heapUsedBytes) + ' heap'],
      ]);
    } else {
      proxy.hidden = true;
    }
    byId('members-title').textContent = s.role === 'proxy' ? 'Members upstream' : 'Members';
    // By name, so cards keep their place between refreshes (the member list has no order).
    const members = [...s.members].sort((a, b) => (a.name === b.name ? (a.id < b.id ? -1 : 1) : a.name < b.name ? -1 : 1));
    byId('members').replaceChildren(...members.map((m) => memberCard(m, s.leader)));
    const lag = s.history.map((h) => ({ t: h.t, v: h.lag }));
    byId('charts').replaceChildren(
      chart('writes', 'Writes', rates(s.history, 'writes'), '/s'),
      chart('reads', 'Reads', rates(s.history, 'reads'), '/s'),
      chart('lag', s.lagUnit === 'revisions' ? 'Lag behind the members' : 'Committed, not applied', lag, s.lagUnit),
    );
    byId('updated').textContent = 'Updated ' + new Date(s.now).toLocaleTimeString() + ' · refreshes every ' + REFRESH_MS / 1000 + ' s';
    document.body.dataset.loaded = 'true';
  }

  async function refresh() {
    try {
      const res = await fetch('/status.json', { cache: 'no-store' });
      if (!res.ok) throw new Error('HTTP ' + res.status);
      render(await res.json());
    } catch (e) {
      byId('updated').textContent = 'Could not refresh (' + (e && e.message ? e.message : e) + '); retrying';
    } finally {
      setTimeout(refresh, REFRESH_MS);
    }
  }

  refresh();
})();
`;
