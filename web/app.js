// dnsight dashboard: polls the JSON API and renders charts (uPlot), alerts, decisions,
// remediation actions and model versions. No build step, no dependencies beyond uPlot.
//
// Every value from the API goes into the page through textContent, never as markup, and
// every field may be missing or null: the page shows "—" and carries on.
(function () {
  'use strict';

  const POLL_MS = 3000;
  const FETCH_TIMEOUT_MS = 10000;
  const TOKEN_KEY = 'dnsight.token';
  const LIMIT = { alerts: 200, decisions: 50, actions: 50 };
  const CHART_HEIGHT = 200;
  const ENDPOINTS = ['stats', 'alerts', 'decisions', 'actions'];

  const state = {
    token: '',
    loaded: {},            // endpoint -> true once it answered and rendered
    ready: false,
    decisions: [],         // oldest first, at most LIMIT.decisions
    decisionIds: new Set(),
    newestDecisionTs: null,
    decisionsTotal: null,  // stats.totals.decisions, to notice a restarted server
    charts: {},            // name -> { plot, el }
    signatures: {},        // panel -> last rendered input, to skip identical re-renders
    focusAlert: '',        // #alert=<id> (links in notifications): that row is highlighted
    focusShown: false,
  };

  // ---------------------------------------------------------------- small helpers

  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
  const arr = (v) => (Array.isArray(v) ? v : []);
  const obj = (v) => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});
  const str = (v) => (v === null || v === undefined ? '' : String(v));

  function trimZeros(s) {
    return s.indexOf('.') >= 0 ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
  }

  // Short, readable numbers: 12, 0.0213, 4.51, 12.3k, 8.1M.
  function fmtNum(v) {
    if (!isNum(v)) return '—';
    const a = Math.abs(v);
    if (a >= 1e9) return trimZeros((v / 1e9).toFixed(2)) + 'G';
    if (a >= 1e6) return trimZeros((v / 1e6).toFixed(2)) + 'M';
    if (a >= 1e4) return trimZeros((v / 1e3).toFixed(1)) + 'k';
    if (Number.isInteger(v)) return String(v);
    if (a < 1e-9) return '0';
    if (a >= 100) return v.toFixed(1);
    if (a >= 1) return trimZeros(v.toFixed(3));
    if (a >= 0.001) return trimZeros(v.toFixed(4));
    return v.toExponential(2);
  }

  const intFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  function fmtInt(v) {
    return isNum(v) ? intFormat.format(v) : '—';
  }

  // RFC 3339 -> "2026-11-23 01:15:10Z" (UTC, to the second).
  function fmtTime(text) {
    if (!text) return '—';
    const ms = Date.parse(text);
    if (!Number.isFinite(ms)) return str(text);
    return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  }

  // Unix seconds -> "01:15:10Z".
  function fmtUnixTime(ts) {
    return new Date(ts * 1000).toISOString().slice(11, 19) + 'Z';
  }

  function fmtClock(date) {
    return date.toISOString().slice(11, 19) + 'Z';
  }

  // Builds an element: el('td', {class: 'num', title: 'x'}, 'text', childNode, ...).
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'dataset') Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function badge(text, kind) {
    return el('span', { class: 'badge ' + kind }, text || '—');
  }

  function setNote(name, text, isError) {
    const node = document.querySelector(`[data-note="${name}"]`);
    if (!node) return;
    node.textContent = text || '';
    node.classList.toggle('error', !!isError);
  }

  function emptyRow(tbody, columns, text) {
    tbody.replaceChildren(el('tr', { class: 'empty' }, el('td', { colspan: columns }, text)));
  }

  // ---------------------------------------------------------------- token and fetch

  // The token comes once in the URL fragment (#token=...), which browsers never send to the
  // server; it is kept for this tab in sessionStorage and removed from the address bar.
  function readToken() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ''));
    state.focusAlert = params.get('alert') || '';
    const fromUrl = params.get('token');
    let stored = '';
    try {
      if (fromUrl) sessionStorage.setItem(TOKEN_KEY, fromUrl);
      stored = sessionStorage.getItem(TOKEN_KEY) || '';
    } catch (e) {
      stored = '';  // storage disabled: keep the token in memory only
    }
    if (fromUrl) {
      params.delete('token');
      const rest = params.toString();
      history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''));
    }
    return fromUrl || stored;
  }

  function forgetToken() {
    try {
      sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) {
      // nothing stored
    }
    state.token = '';
    location.reload();
  }

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  async function getJson(path) {
    const headers = { Accept: 'application/json' };
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
    try {
      let res;
      try {
        res = await fetch(path, { headers, signal: abort.signal, cache: 'no-store', credentials: 'omit' });
      } catch (e) {
        throw new ApiError(abort.signal.aborted ? 'timed out' : 'API unreachable', 0);
      }
      const text = await res.text();
      let body = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch (e) {
        body = null;
      }
      if (!res.ok) {
        const message = body && typeof body.error === 'string' ? body.error : `HTTP ${res.status}`;
        throw new ApiError(message, res.status);
      }
      if (!body || typeof body !== 'object') throw new ApiError('answer is not a JSON object', res.status);
      return body;
    } finally {
      clearTimeout(timer);
    }
  }

  // ---------------------------------------------------------------- charts

  const COLORS = {
    blue: '#1f5fbf',
    green: '#2e8540',
    red: '#c62828',
    orange: '#d9822b',
    purple: '#6f42c1',
    teal: '#138a8a',
    grid: '#e3e6ea',
    axis: '#4a5260',
  };

  function zeroBased(u, min, max) {
    const top = isNum(max) && max > 0 ? max * 1.1 : 1;
    return [0, top];
  }

  function axis(scale, side, showGrid, label) {
    return {
      scale,
      side,
      label,
      labelSize: 18,
      labelFont: '12px system-ui, sans-serif',
      font: '12px system-ui, sans-serif',
      stroke: COLORS.axis,
      grid: { show: showGrid, stroke: COLORS.grid, width: 1 },
      ticks: { show: true, stroke: COLORS.grid, width: 1 },
      size: 56,
      values: (u, splits) => splits.map(fmtNum),
    };
  }

  function line(label, scale, stroke, dash) {
    return {
      label,
      scale,
      stroke,
      width: 1.6,
      dash,
      points: { show: false },
      spanGaps: false,
      value: (u, v) => fmtNum(v),
    };
  }

  const CHARTS = {
    rates: {
      elementId: 'chart-rates',
      series: [
        { key: 'events_per_s', ...line('events/s', 'rate', COLORS.blue) },
        { key: 'rows_per_s', ...line('rows/s', 'rate', COLORS.green) },
        { key: 'malformed_per_s', ...line('malformed/s', 'bad', COLORS.red) },
        { key: 'late_per_s', ...line('late/s', 'bad', COLORS.orange, [6, 3]) },
      ],
      scales: { rate: { range: zeroBased }, bad: { range: zeroBased } },
      axes: [axis('rate', 3, true, 'events, rows per s'), axis('bad', 1, false, 'malformed, late per s')],
    },
    scores: {
      elementId: 'chart-scores',
      series: [
        { key: 'max_score', ...line('max score', 'score', COLORS.purple) },
        { key: 'decisions_per_min', ...line('decisions/min', 'count', COLORS.teal) },
        { key: 'alerts_open', ...line('open alerts', 'count', COLORS.red, [6, 3]) },
      ],
      scales: { score: { range: zeroBased }, count: { range: zeroBased } },
      axes: [axis('score', 3, true, 'max score'), axis('count', 1, false, 'decisions/min, alerts')],
    },
  };

  // stats.series -> uPlot's [[t...], [y...], ...]: rows whose time is not a number are
  // dropped, values that are not numbers become gaps, and rows are put in time order.
  function chartData(series, keys) {
    const t = arr(series.t);
    const rows = [];
    for (let i = 0; i < t.length; i++) if (isNum(t[i])) rows.push(i);
    rows.sort((a, b) => t[a] - t[b]);
    const data = [rows.map((i) => t[i])];
    for (const key of keys) {
      const col = arr(series[key]);
      data.push(rows.map((i) => (isNum(col[i]) ? col[i] : null)));
    }
    return data;
  }

  function chartWidth(node) {
    return Math.max(240, Math.floor(node.clientWidth));
  }

  function renderChart(name, series) {
    const spec = CHARTS[name];
    const node = document.getElementById(spec.elementId);
    if (!node) return;
    if (typeof window.uPlot !== 'function') {
      node.replaceChildren(el('p', { class: 'muted' }, 'uPlot is not loaded (run `npm ci` in web/).'));
      return;
    }
    const data = chartData(series, spec.series.map((s) => s.key));
    const existing = state.charts[name];
    if (existing) {
      existing.plot.setData(data);
      showLatest(existing.plot);
      return;
    }
    const opts = {
      width: chartWidth(node),
      height: CHART_HEIGHT,
      tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
      scales: { x: { time: true }, ...spec.scales },
      series: [{ label: 'time', value: (u, ts) => (isNum(ts) ? fmtUnixTime(ts) : '—') }, ...spec.series.map(({ key, ...s }) => s)],
      axes: [{
        stroke: COLORS.axis,
        font: '12px system-ui, sans-serif',
        grid: { stroke: COLORS.grid, width: 1 },
        ticks: { stroke: COLORS.grid },
        values: (u, splits) => {
          const span = splits.length > 1 ? splits[splits.length - 1] - splits[0] : 0;
          return splits.map((ts) => fmtUnixTime(ts).slice(0, span > 0 && span < 300 ? 8 : 5));
        },
      }, ...spec.axes],
    };
    const plot = new window.uPlot(opts, data, node);
    state.charts[name] = { plot, node };
    showLatest(plot);
  }

  // With the cursor off the chart, the legend shows the newest values.
  function showLatest(plot) {
    const n = plot.data[0].length;
    if (n && !(plot.cursor.left >= 0)) plot.setLegend({ idx: n - 1 });
  }

  function resizeCharts() {
    for (const { plot, node } of Object.values(state.charts)) {
      plot.setSize({ width: chartWidth(node), height: CHART_HEIGHT });
    }
  }

  // ---------------------------------------------------------------- stats, totals, models

  function renderStats(body) {
    const series = obj(body.series);
    renderChart('rates', series);
    renderChart('scores', series);

    const totals = obj(body.totals);
    for (const node of document.querySelectorAll('[data-total]')) {
      node.textContent = fmtInt(totals[node.dataset.total]);
    }
    // A server that restarted starts its decisions over: forget what was merged.
    if (isNum(totals.decisions)) {
      if (isNum(state.decisionsTotal) && totals.decisions < state.decisionsTotal) resetDecisions();
      state.decisionsTotal = totals.decisions;
    }

    const points = arr(series.t).length;
    const interval = isNum(body.interval_s) ? `every ${body.interval_s} s` : '';
    setNote('stats', [points ? `${points} points` : 'no samples yet', interval].filter(Boolean).join(', '));
    setNote('stats-window', body.now ? `server time ${fmtTime(body.now)}` : '');
    renderModels(arr(body.models));
  }

  function renderModels(models) {
    const tbody = document.querySelector('#models tbody');
    const signature = JSON.stringify(models);
    if (state.signatures.models === signature) return;
    state.signatures.models = signature;
    setNote('models', models.length ? `${models.length}` : '');
    if (!models.length) return emptyRow(tbody, 5, 'No models reported.');
    const rows = models.map((m) => {
      m = obj(m);
      return el('tr', { dataset: { rule: str(m.rule) } },
        el('td', {}, str(m.rule) || '—'),
        el('td', {}, str(m.kind) || '—'),
        el('td', {}, str(m.model) || '—'),
        el('td', { class: 'mono' }, str(m.version) || '—'),
        el('td', { class: 'num', title: 'population stability index of recent scores' }, fmtNum(m.psi)));
    });
    tbody.replaceChildren(...rows);
  }

  // ---------------------------------------------------------------- alerts

  const SEVERITY_RANK = { page: 0, ticket: 1, info: 2 };
  const STATE_RANK = { firing: 0, suppressed: 1, resolved: 2 };

  function renderAlerts(body) {
    const alerts = arr(body.alerts).map(obj);
    const tbody = document.querySelector('#alerts tbody');
    const signature = JSON.stringify(alerts);
    if (state.signatures.alerts === signature) return;
    state.signatures.alerts = signature;
    const firing = alerts.filter((a) => a.state === 'firing').length;
    setNote('alerts', alerts.length ? `${alerts.length} open, ${firing} firing` : '');
    if (!alerts.length) return emptyRow(tbody, 9, 'No open alerts.');
    const rank = (table, key) => (key in table ? table[key] : 9);
    alerts.sort((a, b) =>
      rank(SEVERITY_RANK, a.severity) - rank(SEVERITY_RANK, b.severity) ||
      rank(STATE_RANK, a.state) - rank(STATE_RANK, b.state) ||
      (Date.parse(b.starts_at) || 0) - (Date.parse(a.starts_at) || 0));
    const rows = alerts.map((a) => {
      const severity = str(a.severity);
      const sevTitle = a.downgraded && a.original_severity ? `downgraded from ${a.original_severity}` : null;
      const scope = [a.scope_kind, a.view && `view ${a.view}`].filter(Boolean).join(', ');
      return el('tr', { dataset: { alertId: str(a.id), severity, state: str(a.state) } },
        el('td', { title: sevTitle }, badge(severity, 'sev-' + (severity in SEVERITY_RANK ? severity : 'other')),
          a.downgraded ? el('span', { class: 'muted small' }, ' ↓') : null),
        el('td', {}, str(a['class']) || '—'),
        el('td', { class: 'mono', title: scope || null }, str(a.entity) || '—'),
        el('td', {}, str(a.team) || el('span', { class: 'muted' }, 'unrouted')),
        el('td', {}, badge(str(a.state), 'state-' + str(a.state))),
        el('td', { class: 'nowrap', title: a.last_seen ? `last seen ${fmtTime(a.last_seen)}` : null }, fmtTime(a.starts_at)),
        el('td', { class: 'num' }, fmtNum(a.score)),
        el('td', { class: 'summary' }, str(a.summary) || '—'),
        el('td', { class: 'muted' }, str(a.reason) || ''));
    });
    tbody.replaceChildren(...rows);
    focusAlertRow(rows);
  }

  function focusAlertRow(rows) {
    if (!state.focusAlert) return;
    const row = rows.find((r) => r.dataset.alertId === state.focusAlert);
    if (!row) return;
    row.classList.add('focus');
    if (!state.focusShown) {
      state.focusShown = true;
      row.scrollIntoView({ block: 'center' });
    }
  }

  // ---------------------------------------------------------------- decisions

  function decisionKey(d) {
    if (isNum(d.ts_ns)) return d.ts_ns;
    const ms = Date.parse(d.ts);
    return Number.isFinite(ms) ? ms * 1e6 : 0;
  }

  function resetDecisions() {
    state.decisions = [];
    state.decisionIds = new Set();
    state.newestDecisionTs = null;
    state.signatures.decisions = '';
  }

  function decisionsPath() {
    const params = new URLSearchParams({ limit: String(LIMIT.decisions) });
    if (state.newestDecisionTs) params.set('since', state.newestDecisionTs);
    return '/v1/decisions?' + params.toString();
  }

  // The API answers newest last, from `since` on (inclusive): merge by id, keep the newest.
  function mergeDecisions(body) {
    let added = 0;
    for (const raw of arr(body.decisions)) {
      const d = obj(raw);
      const scope = obj(d.scope);
      const id = str(d.id) || `${str(d.ts)}|${str(d['class'])}|${str(scope.entity)}`;
      if (state.decisionIds.has(id)) continue;
      state.decisionIds.add(id);
      state.decisions.push({ ...d, _id: id });
      added++;
    }
    if (added) {
      state.decisions.sort((a, b) => decisionKey(a) - decisionKey(b));
      while (state.decisions.length > LIMIT.decisions) state.decisionIds.delete(state.decisions.shift()._id);
    }
    const newest = state.decisions[state.decisions.length - 1];
    if (newest && newest.ts) state.newestDecisionTs = str(newest.ts);
    if (added || !state.signatures.decisions) renderDecisions();
  }

  function featureTable(features) {
    if (!features.length) return el('p', { class: 'muted small' }, 'No feature explanation.');
    const total = features.reduce((s, f) => s + (isNum(f.contribution) ? Math.abs(f.contribution) : 0), 0);
    const rows = features.map((raw) => {
      const f = obj(raw);
      const share = total > 0 && isNum(f.contribution) ? Math.abs(f.contribution) / total : 0;
      const bar = el('span', { class: 'bar' });
      bar.style.width = Math.round(share * 100) + '%';
      return el('tr', { dataset: { feature: str(f.name) } },
        el('td', { class: 'mono' }, str(f.name) || '—'),
        el('td', { class: 'num' }, fmtNum(f.value)),
        el('td', { class: 'num' }, fmtNum(f.baseline)),
        el('td', { class: 'num contribution' }, el('span', { class: 'bar-track' }, bar), fmtNum(f.contribution)));
    });
    return el('table', { class: 'features' },
      el('thead', {}, el('tr', {},
        el('th', { scope: 'col' }, 'feature'),
        el('th', { scope: 'col', class: 'num' }, 'value'),
        el('th', { scope: 'col', class: 'num' }, 'baseline'),
        el('th', { scope: 'col', class: 'num' }, 'contribution'))),
      el('tbody', {}, ...rows));
  }

  function fact(label, value, cls) {
    return el('span', { class: 'fact' }, el('span', { class: 'fact-label' }, label), el('span', { class: cls || '' }, value));
  }

  function renderDecisions() {
    const root = document.getElementById('decisions');
    state.signatures.decisions = state.decisions.map((d) => d._id).join(',') || 'empty';
    const list = state.decisions.slice().reverse();
    setNote('decisions', list.length ? `newest ${list.length}` : '');
    if (!list.length) {
      root.replaceChildren(el('p', { class: 'empty' }, 'No decisions yet.'));
      return;
    }
    root.replaceChildren(...list.map((d) => {
      const scope = obj(d.scope);
      const model = obj(d.model);
      const context = obj(d.context);
      const klass = str(d['class']);
      const severity = str(d.severity);
      const alertBadge = d.alert === true
        ? badge(severity || 'alert', 'sev-' + (severity in SEVERITY_RANK ? severity : 'other'))
        : badge('no alert', 'sev-none');
      const where = [scope.kind, scope.view && `view ${scope.view}`, scope.rollup].filter(Boolean).join(' · ');
      const notes = [];
      if (context.maintenance === true) notes.push('in maintenance');
      if (context.downgraded === true) notes.push('downgraded');
      if (context.reason) notes.push(str(context.reason));
      const modelText = [model.name, model.version].filter(Boolean).map(str).join(' @ ');
      return el('article', { class: 'decision', dataset: { decisionId: d._id, class: klass, alert: d.alert === true ? '1' : '0' } },
        el('header', {},
          alertBadge,
          el('strong', { class: 'klass' }, klass || '—'),
          el('span', { class: 'mono entity' }, str(scope.entity) || '—'),
          where ? el('span', { class: 'muted small' }, where) : null,
          el('time', { class: 'muted small', datetime: str(d.ts) }, fmtTime(d.ts))),
        el('div', { class: 'facts' },
          fact('score', `${fmtNum(d.score)} / ${fmtNum(d.threshold)}`, 'num'),
          fact('confidence', str(d.confidence) || '—', 'conf-' + str(d.confidence)),
          fact('failure domain', str(d.failure_domain) || '—'),
          fact('action', str(d.action) || '—', 'mono'),
          modelText ? fact('model', modelText, 'mono small') : null),
        featureTable(arr(d.top_features)),
        notes.length ? el('p', { class: 'context' }, notes.join(' — ')) : null);
    }));
  }

  // ---------------------------------------------------------------- actions

  function outcomeKind(outcome) {
    if (outcome === 'succeeded') return 'ok';
    if (outcome === 'failed' || outcome === 'timed_out') return 'bad';
    if (outcome === 'dry_run') return 'dry';
    if (outcome.startsWith('escalated')) return 'warn';
    return 'neutral';  // skipped_* and anything new
  }

  function renderActions(body) {
    const actions = arr(body.actions).map(obj);
    const tbody = document.querySelector('#actions tbody');
    const signature = JSON.stringify(actions);
    if (state.signatures.actions === signature) return;
    state.signatures.actions = signature;
    setNote('actions', actions.length ? `newest ${actions.length}` : '');
    if (!actions.length) return emptyRow(tbody, 5, 'No remediation actions.');
    actions.sort((a, b) => (isNum(b.seq) && isNum(a.seq) ? b.seq - a.seq : (Date.parse(b.ts) || 0) - (Date.parse(a.ts) || 0)));
    const rows = actions.map((a) => {
      const outcome = str(a.outcome);
      const preconditions = arr(a.preconditions).map((raw) => {
        const p = obj(raw);
        const ok = p.ok === true;
        return el('li', { class: ok ? 'pre-ok' : 'pre-bad', title: str(p.detail) || null },
          ok ? '✓ ' : '✗ ', str(p.name) || '—');
      });
      const when = fmtTime(a.ts);  // "2026-11-23 01:15:10Z": the clock, the date below it
      const [day, clock] = when.length > 11 ? [when.slice(0, 10), when.slice(11)] : ['', when];
      return el('tr', { dataset: { actionSeq: str(a.seq), outcome } },
        el('td', { class: 'nowrap', title: a.decision_id ? `decision ${a.decision_id}` : null },
          clock, day ? el('div', { class: 'muted small' }, day) : null),
        el('td', {}, el('span', { class: 'mono' }, str(a.action) || '—'),
          el('div', { class: 'muted small' }, str(a['class']))),
        el('td', { class: 'mono entity' }, str(a.entity) || '—'),
        el('td', {}, badge(outcome, 'out-' + outcomeKind(outcome)),
          a.dry_run === true && outcome !== 'dry_run' ? el('span', { class: 'muted small' }, ' dry run') : null,
          a.reason ? el('div', { class: 'muted small' }, str(a.reason)) : null),
        el('td', {}, preconditions.length ? el('ul', { class: 'preconditions' }, ...preconditions) : el('span', { class: 'muted' }, '—')));
    });
    tbody.replaceChildren(...rows);
  }

  // ---------------------------------------------------------------- polling

  const LOADERS = {
    stats: () => getJson('/v1/stats').then(renderStats),
    alerts: () => getJson(`/v1/alerts?state=open&limit=${LIMIT.alerts}`).then(renderAlerts),
    decisions: () => getJson(decisionsPath()).then(mergeDecisions),
    actions: () => getJson(`/v1/actions?limit=${LIMIT.actions}`).then(renderActions),
  };

  function showAuthProblem(errors) {
    const banner = document.getElementById('auth-banner');
    const auth = errors.find((e) => e.status === 401 || e.status === 403);
    if (!auth) {
      banner.hidden = true;
      return;
    }
    banner.hidden = false;
    if (auth.status === 403) {
      banner.textContent = `This token may not read every panel: ${auth.message}`;
    } else if (state.token) {
      banner.textContent = 'The API refused the token. Open the page again as /ui/#token=YOUR_TOKEN.';
    } else {
      banner.textContent = 'This API needs a token: open the page as /ui/#token=YOUR_TOKEN (kept in this tab only).';
    }
  }

  async function refresh() {
    const results = await Promise.allSettled(ENDPOINTS.map((name) => LOADERS[name]()));
    const errors = [];
    results.forEach((r, i) => {
      const name = ENDPOINTS[i];
      if (r.status === 'fulfilled') {
        state.loaded[name] = true;
        if (name !== 'stats') document.getElementById('panel-' + name).classList.remove('failed');
        return;
      }
      const err = r.reason instanceof ApiError ? r.reason : new ApiError(str(r.reason && r.reason.message) || 'render error', -1);
      if (r.reason && !(r.reason instanceof ApiError)) console.error(name, r.reason);
      errors.push(Object.assign(err, { endpoint: name }));
      if (name !== 'stats') {
        setNote(name, `error: ${err.message}`, true);
        document.getElementById('panel-' + name).classList.add('failed');
      } else {
        setNote('stats', `error: ${err.message}`, true);
      }
    });
    if (!state.ready && ENDPOINTS.every((n) => state.loaded[n])) {
      state.ready = true;
      document.body.dataset.ready = '1';
    }
    showAuthProblem(errors);
    const dot = document.getElementById('status-dot');
    const text = document.getElementById('status-text');
    const now = fmtClock(new Date());
    if (!errors.length) {
      dot.className = 'dot ok';
      text.textContent = `live · updated ${now}`;
    } else if (errors.length < ENDPOINTS.length) {
      dot.className = 'dot warn';
      text.textContent = `partial · ${errors.map((e) => `${e.endpoint}: ${e.message}`).join('; ')} · ${now}`;
    } else {
      dot.className = 'dot bad';
      text.textContent = `no data · ${errors[0].message} · ${now}`;
    }
  }

  function loop() {
    // A hidden tab skips its polls; it catches up as soon as it is shown again.
    const run = document.hidden ? Promise.resolve() : refresh();
    run.catch((e) => console.error(e)).finally(() => setTimeout(loop, POLL_MS));
  }

  function start() {
    state.token = readToken();
    const forget = document.getElementById('forget-token');
    forget.hidden = !state.token;
    forget.addEventListener('click', forgetToken);
    window.addEventListener('hashchange', () => {
      const token = readToken();
      if (token && token !== state.token) {
        state.token = token;
        forget.hidden = false;
      }
      state.focusShown = false;
      state.signatures.alerts = '';
      refresh();
    });
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && state.ready) refresh();
    });
    let resizeTimer = null;
    window.addEventListener('resize', () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(resizeCharts, 100);
    });
    // Empty charts first, so the layout does not jump when the first stats arrive.
    renderChart('rates', {});
    renderChart('scores', {});
    loop();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
