/**
 * The web console's page: plain HTML, CSS and JavaScript with SVG charts, no build step and nothing
 * fetched from elsewhere. Its data: /console/api/* (tree, sessions, role) and /commands/monitor
 * (the figures mntr and the Prometheus page report).
 */

export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>zkts console</title>
<link rel="icon" href="data:,">
<style>
  :root { --fg: #1d2330; --muted: #687086; --line: #d9dde6; --accent: #2f6fdf; --bg: #f6f7fa; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
  header { display: flex; gap: 16px; align-items: baseline; padding: 10px 18px; background: #1d2330; color: #fff; }
  header h1 { font-size: 18px; margin: 0; }
  header .badge { padding: 1px 8px; border-radius: 9px; background: var(--accent); font-size: 12px; }
  header .meta { color: #b8c0d4; font-size: 12px; }
  main { display: grid; grid-template-columns: 1fr 1fr 1fr; gap: 12px; padding: 12px 18px; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; min-width: 0; }
  section h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 0 0 6px; }
  .wide { grid-column: span 3; }
  .half { grid-column: span 1; }
  .twothirds { grid-column: span 2; }
  svg.chart { width: 100%; height: 120px; display: block; }
  svg.chart path { fill: none; stroke: var(--accent); stroke-width: 2; }
  svg.chart text { font-size: 10px; fill: var(--muted); }
  .value { font-size: 20px; font-weight: 600; }
  ul.tree { list-style: none; margin: 0; padding-left: 14px; font-family: ui-monospace, monospace; font-size: 13px; }
  ul.tree li span.name { cursor: pointer; padding: 0 3px; border-radius: 3px; }
  ul.tree li span.name.selected { background: #dbe6fb; }
  ul.tree li span.toggle { display: inline-block; width: 14px; cursor: pointer; color: var(--muted); }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  td, th { border-bottom: 1px solid var(--line); padding: 3px 6px; text-align: left; vertical-align: top; }
  th { color: var(--muted); font-weight: 500; }
  pre { background: var(--bg); border: 1px solid var(--line); padding: 6px; max-height: 220px; overflow: auto; white-space: pre-wrap; word-break: break-all; margin: 6px 0; }
  code, .mono { font-family: ui-monospace, monospace; }
  .error { color: #b3261e; }
  .muted { color: var(--muted); }
  form.write { display: flex; gap: 6px; flex-wrap: wrap; margin-top: 8px; }
  form.write input { flex: 1; min-width: 120px; }
</style>
</head>
<body>
<header>
  <h1>zkts console</h1>
  <span class="badge" id="state">…</span>
  <span class="meta" id="meta"></span>
</header>
<main>
  <section class="half"><h2>Requests / s</h2><div class="value" id="v-throughput">–</div><svg class="chart" id="c-throughput" viewBox="0 0 300 120" preserveAspectRatio="none"></svg></section>
  <section class="half"><h2>Mean latency, ms</h2><div class="value" id="v-latency">–</div><svg class="chart" id="c-latency" viewBox="0 0 300 120" preserveAspectRatio="none"></svg></section>
  <section class="half"><h2>Connections</h2><div class="value" id="v-connections">–</div><svg class="chart" id="c-connections" viewBox="0 0 300 120" preserveAspectRatio="none"></svg></section>
  <section class="half"><h2>Tree</h2><ul class="tree" id="tree"></ul></section>
  <section class="twothirds"><h2>Znode</h2><div id="node" class="muted">Select a znode.</div></section>
  <section class="twothirds"><h2>Sessions</h2><div id="sessions"></div></section>
  <section class="half"><h2>Ensemble</h2><div id="peers"></div></section>
</main>
<script src="/console/app.js"></script>
</body>
</html>
`;

export const CONSOLE_JS = String.raw`'use strict';
(function () {
  var POINTS = 60;
  var series = { throughput: [], latency: [], connections: [] };
  var last = null;
  var selected = '/';
  var dataView = 'text';
  var canWrite = false;

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'onclick') e.addEventListener('click', attrs[k]);
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { e.appendChild(c); });
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function getJson(url) {
    return fetch(url, { cache: 'no-store' }).then(function (r) {
      return r.json().then(function (body) { return { status: r.status, body: body }; });
    });
  }

  // ---- charts, from the monitor command's figures ----
  function num(m, k) { return typeof m[k] === 'number' ? m[k] : 0; }
  function sample() {
    return getJson('/commands/monitor').then(function (r) {
      var m = r.body;
      if (m.error) return;
      var now = Date.now();
      var count = num(m, 'cnt_readlatency') + num(m, 'cnt_updatelatency');
      var sum = num(m, 'sum_readlatency') + num(m, 'sum_updatelatency');
      if (last && count >= last.count) {
        var seconds = (now - last.at) / 1000;
        var answered = count - last.count;
        push('throughput', answered / seconds, Math.round(answered / seconds).toString());
        var latency = answered > 0 ? (sum - last.sum) / answered : 0;
        push('latency', latency, latency.toFixed(2));
      }
      push('connections', num(m, 'num_alive_connections'), String(num(m, 'num_alive_connections')));
      last = { at: now, count: count, sum: sum };
    });
  }
  function push(name, value, label) {
    var s = series[name];
    s.push(value);
    if (s.length > POINTS) s.shift();
    document.getElementById('v-' + name).textContent = label;
    draw(document.getElementById('c-' + name), s);
  }
  function draw(svg, s) {
    var max = Math.max.apply(null, s.concat([1]));
    var w = 300, h = 120, top = 12;
    var d = s.map(function (v, i) {
      var x = (i / (POINTS - 1)) * w;
      var y = h - 2 - (v / max) * (h - top - 2);
      return (i === 0 ? 'M' : 'L') + x.toFixed(1) + ' ' + y.toFixed(1);
    }).join(' ');
    clear(svg);
    var ns = 'http://www.w3.org/2000/svg';
    var path = document.createElementNS(ns, 'path');
    path.setAttribute('d', d);
    path.setAttribute('data-points', String(s.length));
    svg.appendChild(path);
    var text = document.createElementNS(ns, 'text');
    text.setAttribute('x', '2');
    text.setAttribute('y', '10');
    text.textContent = 'max ' + (max < 10 ? max.toFixed(2) : Math.round(max));
    svg.appendChild(text);
  }

  // ---- overview: role and peers ----
  function overview() {
    return getJson('/console/api/overview').then(function (r) {
      var o = r.body;
      canWrite = o.writes;
      document.getElementById('state').textContent = o.state;
      document.getElementById('meta').textContent = (o.myid !== null ? 'myid ' + o.myid + ' · ' : '') + 'zxid ' + o.zxid + (o.writes ? ' · writes on' : ' · read-only');
      var peers = document.getElementById('peers');
      clear(peers);
      if (o.peers.length === 0) { peers.appendChild(el('div', { 'class': 'muted', text: 'Standalone: no peers.' })); return; }
      var rows = o.peers.map(function (p) {
        return el('tr', {}, [el('td', { text: String(p.id) + (p.self ? ' (this)' : '') }), el('td', { 'class': 'mono', text: p.host + ':' + p.quorumPort + ':' + p.electionPort }), el('td', { text: p.leader ? 'leader' : p.role })]);
      });
      peers.appendChild(el('table', {}, [el('tr', {}, [el('th', { text: 'id' }), el('th', { text: 'address' }), el('th', { text: 'role' })])].concat(rows)));
    });
  }

  // ---- sessions ----
  function sessions() {
    return getJson('/console/api/sessions').then(function (r) {
      var box = document.getElementById('sessions');
      clear(box);
      if (r.body.length === 0) { box.appendChild(el('div', { 'class': 'muted', text: 'No sessions.' })); return; }
      var rows = r.body.map(function (s) {
        return el('tr', {}, [el('td', { 'class': 'mono', text: s.id }), el('td', { text: String(s.timeout) }), el('td', { 'class': 'mono', text: s.ephemerals.join(' ') }), el('td', { 'class': 'mono', text: s.watches.join(' ') })]);
      });
      box.appendChild(el('table', { id: 'sessions-table' }, [el('tr', {}, [el('th', { text: 'session' }), el('th', { text: 'timeout ms' }), el('th', { text: 'ephemerals' }), el('th', { text: 'watches' })])].concat(rows)));
    });
  }

  // ---- tree ----
  function childPath(parent, name) { return parent === '/' ? '/' + name : parent + '/' + name; }
  function treeItem(path, name) {
    var li = el('li', { 'data-path': path });
    var sub = el('ul', { 'class': 'tree' });
    var toggle = el('span', { 'class': 'toggle', text: '+' });
    var label = el('span', { 'class': 'name', text: name });
    function expand() {
      if (toggle.textContent === '-') { clear(sub); toggle.textContent = '+'; return Promise.resolve(); }
      return getJson('/console/api/node?path=' + encodeURIComponent(path)).then(function (r) {
        if (r.status !== 200) return;
        toggle.textContent = '-';
        clear(sub);
        r.body.children.forEach(function (c) { sub.appendChild(treeItem(childPath(path, c), c)); });
      });
    }
    toggle.addEventListener('click', expand);
    label.addEventListener('click', function () { select(path, label); });
    li.appendChild(toggle);
    li.appendChild(label);
    li.appendChild(sub);
    li.expand = expand;
    return li;
  }
  function hexOf(bytes) {
    var out = [];
    for (var i = 0; i < bytes.length; i++) out.push((bytes[i] < 16 ? '0' : '') + bytes[i].toString(16));
    return out.join(' ');
  }
  function render(body) {
    var box = document.getElementById('node');
    clear(box);
    box.className = '';
    box.appendChild(el('div', { 'class': 'mono', id: 'node-path', text: body.path }));
    var raw = body.data === null ? null : atob(body.data);
    var bytes = raw === null ? [] : Array.prototype.map.call(raw, function (c) { return c.charCodeAt(0); });
    var text;
    if (raw === null) text = '(null)';
    else if (dataView === 'hex') text = hexOf(bytes);
    else {
      text = new TextDecoder().decode(new Uint8Array(bytes));
      if (dataView === 'json') { try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { text = 'not JSON: ' + text; } }
    }
    var views = el('div', {}, ['text', 'hex', 'json'].map(function (v) {
      return el('label', {}, [el('input', { type: 'radio', name: 'view', value: v }), document.createTextNode(' ' + v + ' ')]);
    }));
    Array.prototype.forEach.call(views.querySelectorAll('input'), function (i) {
      if (i.value === dataView) i.checked = true;
      i.addEventListener('change', function () { dataView = i.value; render(body); });
    });
    box.appendChild(views);
    box.appendChild(el('pre', { id: 'node-data', text: text }));
    var stat = body.stat;
    box.appendChild(el('table', { id: 'node-stat' }, Object.keys(stat).map(function (k) {
      var v = stat[k];
      if (k === 'ctime' || k === 'mtime') v = new Date(v).toISOString() + ' (' + v + ')';
      return el('tr', {}, [el('th', { text: k }), el('td', { 'class': 'mono', text: String(v) })]);
    })));
    var acl = body.acl === null ? [el('tr', {}, [el('td', { 'class': 'muted', text: 'ACL not readable with these credentials' })])] : body.acl.map(function (a) {
      return el('tr', {}, [el('td', { 'class': 'mono', text: a.perms }), el('td', { text: a.scheme }), el('td', { 'class': 'mono', text: a.id })]);
    });
    box.appendChild(el('h2', { text: 'ACL' }));
    box.appendChild(el('table', { id: 'node-acl' }, acl));
    if (canWrite) box.appendChild(writeForm(body.path));
  }
  function writeForm(path) {
    var input = el('input', { placeholder: 'data, or the name of a new child' });
    function send(op, target, data) {
      return fetch('/console/api/node', { method: 'POST', headers: { 'content-type': 'application/json', 'x-zkts-console': '1' }, body: JSON.stringify({ op: op, path: target, data: data }) })
        .then(function (r) { return r.json(); })
        .then(function (b) { if (b.error) alert(b.error + (b.message ? ': ' + b.message : '')); refreshTree(); select(op === 'delete' ? '/' : path); });
    }
    return el('form', { 'class': 'write' }, [
      input,
      el('button', { type: 'button', text: 'Set data', onclick: function () { send('set', path, input.value); } }),
      el('button', { type: 'button', text: 'Create child', onclick: function () { send('create', childPath(path, input.value), ''); } }),
      el('button', { type: 'button', text: 'Delete', onclick: function () { send('delete', path); } }),
    ]);
  }
  function select(path, label) {
    selected = path;
    Array.prototype.forEach.call(document.querySelectorAll('ul.tree span.name.selected'), function (n) { n.classList.remove('selected'); });
    if (label) label.classList.add('selected');
    return getJson('/console/api/node?path=' + encodeURIComponent(path)).then(function (r) {
      if (r.status === 200) render(r.body);
      else {
        var box = document.getElementById('node');
        clear(box);
        box.className = 'error';
        box.textContent = path + ': ' + r.body.error + (r.status === 401 ? ' (log in with a digest user, or super)' : '');
      }
    });
  }
  function refreshTree() {
    var tree = document.getElementById('tree');
    clear(tree);
    var root = treeItem('/', '/');
    tree.appendChild(root);
    return root.expand();
  }

  overview().then(refreshTree).then(function () { return select(selected); });
  sessions();
  sample();
  setInterval(sample, 1000);
  setInterval(function () { overview(); sessions(); }, 2000);
})();
`;
