// Turning measurements into a printed table, SVG bar charts and the README section.

/**
 * @typedef {object} Row
 * @property {string} implementation
 * @property {string} workload
 * @property {string} metric
 * @property {string} unit
 * @property {number} median
 * @property {number} min
 * @property {number} max
 * @property {number[]} samples
 */

/** How each metric reads: unit, and whether higher is better. */
export const METRICS = {
  p50: { unit: 'µs', higherIsBetter: false, label: 'p50 round trip' },
  p99: { unit: 'µs', higherIsBetter: false, label: 'p99 round trip' },
  msgsPerSec: { unit: 'msgs/s', higherIsBetter: true, label: 'messages/s' },
  mibPerSec: { unit: 'MiB/s', higherIsBetter: true, label: 'MiB/s' },
  cpuSender: { unit: 's', higherIsBetter: false, label: 'CPU user+sys, sender' },
  cpuReceiver: { unit: 's', higherIsBetter: false, label: 'CPU user+sys, receiver' },
  cpuClient: { unit: 's', higherIsBetter: false, label: 'CPU user+sys, client' },
  cpuServer: { unit: 's', higherIsBetter: false, label: 'CPU user+sys, echo server' },
  nsPerMsgSender: { unit: 'ns', higherIsBetter: false, label: 'CPU per message, sender' },
  nsPerMsgReceiver: { unit: 'ns', higherIsBetter: false, label: 'CPU per message, receiver' },
  rssSender: { unit: 'MiB', higherIsBetter: false, label: 'peak RSS, sender' },
  rssReceiver: { unit: 'MiB', higherIsBetter: false, label: 'peak RSS, receiver' },
  rssClient: { unit: 'MiB', higherIsBetter: false, label: 'peak RSS, client' },
  rssServer: { unit: 'MiB', higherIsBetter: false, label: 'peak RSS, echo server' },
  lateP50: { unit: 'ms', higherIsBetter: false, label: 'timer lateness, median' },
  lateMax: { unit: 'ms', higherIsBetter: false, label: 'timer lateness, worst' },
  heapPerConnServer: { unit: 'B', higherIsBetter: false, label: 'heap per conn, accepting side' },
  rssPerConnServer: { unit: 'B', higherIsBetter: false, label: 'RSS per conn, accepting side' },
  heapPerConnClient: { unit: 'B', higherIsBetter: false, label: 'heap per conn, connecting side' },
  rssPerConnClient: { unit: 'B', higherIsBetter: false, label: 'RSS per conn, connecting side' },
};

/** The metrics drawn in each workload's chart. */
export const CHART_METRICS = {
  rtt: ['p50', 'p99'],
  flood: ['msgsPerSec'],
  bulk: ['mibPerSec'],
  mem: ['rssPerConnServer', 'rssPerConnClient', 'heapPerConnServer', 'heapPerConnClient'],
  lateness: ['lateP50', 'lateMax'],
};

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return Number.NaN;
  return n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** Formats a number with a sensible precision for its size. */
export function fmt(v) {
  if (!Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)} k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/**
 * @param {Row[]} rows
 * @param {string[]} impls
 * @param {{ id: string, name: string }[]} workloads
 * @returns {string[][]} one table per workload: header row then metric rows
 */
export function tables(rows, impls, workloads) {
  const out = [];
  for (const w of workloads) {
    const wr = rows.filter((r) => r.workload === w.name);
    if (wr.length === 0) continue;
    const metrics = [...new Set(wr.map((r) => r.metric))];
    // Only the implementations measured in this workload (some run only a few).
    const shown = impls.filter((impl) => wr.some((r) => r.implementation === impl));
    const table = [[`${w.id} ${w.name}`, ...shown]];
    for (const m of metrics) {
      const base = wr.find((r) => r.metric === m && r.implementation === 'net-raw');
      const line = [`${METRICS[m]?.label ?? m} (${METRICS[m]?.unit ?? ''})`];
      for (const impl of shown) {
        const r = wr.find((x) => x.metric === m && x.implementation === impl);
        if (r === undefined) {
          line.push('—');
          continue;
        }
        const ratio = base !== undefined && base.median !== 0 ? r.median / base.median : Number.NaN;
        line.push(
          impl === 'net-raw' || !Number.isFinite(ratio)
            ? fmt(r.median)
            : `${fmt(r.median)} (${ratio.toFixed(2)}×)`,
        );
      }
      table.push(line);
    }
    out.push(table);
  }
  return out;
}

/** Renders a table as aligned plain text. */
export function textTable(table) {
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => String(row[c]).length)));
  return table
    .map((row, i) => {
      const line = row
        .map((cell, c) =>
          c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]),
        )
        .join('  ');
      return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

/** Renders a table as Markdown. */
export function markdownTable(table) {
  const [head, ...body] = table;
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...body.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948'];

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A horizontal grouped bar chart: one group per implementation, one bar per metric, a whisker
 * from min to max, the median printed at the bar's end with its ratio to net-raw.
 *
 * @param {string} title
 * @param {Row[]} rows rows of one workload
 * @param {string[]} impls
 * @param {string[]} metrics
 * @returns {string} an SVG document
 */
export function barChart(title, rows, impls, metrics) {
  const shown = metrics.filter((m) => rows.some((r) => r.metric === m));
  const barH = 18;
  const gap = 4;
  const groupGap = 14;
  const left = 150;
  const right = 170;
  const plotW = 460;
  const top = 46;
  const groupH = shown.length * (barH + gap) - gap;
  const height = top + impls.length * (groupH + groupGap) + 30 + (shown.length + 1) * 16;
  const width = left + plotW + right;
  const parts = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
  );
  // One scale per metric unit, so that p50 and p99 (both µs) share one.
  const maxByUnit = {};
  for (const m of shown) {
    const u = METRICS[m]?.unit ?? m;
    for (const r of rows.filter((x) => x.metric === m)) {
      maxByUnit[u] = Math.max(maxByUnit[u] ?? 0, r.max, r.median);
    }
  }
  let y = top;
  for (const impl of impls) {
    parts.push(
      `<text x="${left - 8}" y="${y + groupH / 2 + 4}" text-anchor="end" font-weight="bold">${esc(impl)}</text>`,
    );
    shown.forEach((m, i) => {
      const r = rows.find((x) => x.metric === m && x.implementation === impl);
      const by = y + i * (barH + gap);
      if (r === undefined) {
        parts.push(`<text x="${left + 4}" y="${by + barH - 5}" fill="#888">not measured</text>`);
        return;
      }
      const scale = plotW / (maxByUnit[METRICS[m]?.unit ?? m] || 1);
      const w = Math.max(1, r.median * scale);
      parts.push(
        `<rect x="${left}" y="${by}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[i % COLORS.length]}"/>`,
      );
      const x1 = left + r.min * scale;
      const x2 = left + r.max * scale;
      const cy = by + barH / 2;
      parts.push(
        `<line x1="${x1.toFixed(1)}" y1="${cy}" x2="${x2.toFixed(1)}" y2="${cy}" stroke="#222" stroke-width="1"/>`,
        `<line x1="${x1.toFixed(1)}" y1="${cy - 4}" x2="${x1.toFixed(1)}" y2="${cy + 4}" stroke="#222"/>`,
        `<line x1="${x2.toFixed(1)}" y1="${cy - 4}" x2="${x2.toFixed(1)}" y2="${cy + 4}" stroke="#222"/>`,
      );
      const base = rows.find((x) => x.metric === m && x.implementation === 'net-raw');
      const ratio =
        base !== undefined && impl !== 'net-raw' && base.median > 0
          ? ` (${(r.median / base.median).toFixed(2)}×)`
          : '';
      parts.push(
        `<text x="${(Math.max(x2, left + w) + 6).toFixed(1)}" y="${by + barH - 5}">${esc(`${fmt(r.median)} ${METRICS[m]?.unit ?? ''}${ratio}`)}</text>`,
      );
    });
    y += groupH + groupGap;
  }
  // Legend.
  shown.forEach((m, i) => {
    const ly = y + 6 + i * 16;
    const better = METRICS[m]?.higherIsBetter ? 'higher is better' : 'lower is better';
    parts.push(
      `<rect x="${left}" y="${ly}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`,
      `<text x="${left + 18}" y="${ly + 10}">${esc(`${METRICS[m]?.label ?? m} (${METRICS[m]?.unit ?? ''}, ${better})`)}</text>`,
    );
  });
  parts.push(
    `<text x="${left}" y="${y + 16 + shown.length * 16}" fill="#555">bar: median; whisker: min–max of the runs; (n×): ratio to net-raw</text>`,
  );
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/**
 * The targets of issue 15 (the user's path: the `peerlink` row) checked against one run's medians,
 * and the Rust crate's figures (issue 5).
 * @param {Row[]} rows
 * @returns {string[][]} a table: target, figure, verdict
 */
export function targetTable(rows) {
  const get = (impl, workload, metric) =>
    rows.find((r) => r.implementation === impl && r.workload === workload && r.metric === metric)
      ?.median;
  const out = [['target', 'measured', 'verdict']];
  /**
   * @param {string} label
   * @param {number | undefined} value
   * @param {number} bound
   * @param {'min' | 'max'} kind
   * @param {string} unit
   */
  const check = (label, value, bound, kind, unit = '×') => {
    if (value === undefined || !Number.isFinite(value)) {
      out.push([label, 'not measured', '—']);
      return;
    }
    const ok = kind === 'min' ? value >= bound : value <= bound;
    const shown = unit === '×' ? `${value.toFixed(2)}×` : `${fmt(value)} ${unit}`;
    out.push([label, shown, ok ? 'met' : 'MISSED']);
  };
  const ratio = (a, b) => (a === undefined || b === undefined || b === 0 ? undefined : a / b);
  const pl = (w, m) => get('peerlink', w, m);
  const vs = (other, w, m) => ratio(pl(w, m), get(other, w, m));
  check('W1 p50 ≤ 1.10 × net-raw', vs('net-raw', 'rtt-12B', 'p50'), 1.1, 'max');
  check('W2 msgs/s ≥ 0.90 × net-raw', vs('net-raw', 'flood-12B', 'msgsPerSec'), 0.9, 'min');
  for (const [id, w] of [
    ['W3', 'bulk-1KiB'],
    ['W4', 'bulk-64KiB'],
    ['W5', 'bulk-1MiB'],
  ]) {
    check(`${id} MiB/s ≥ 0.95 × net-raw`, vs('net-raw', w, 'mibPerSec'), 0.95, 'min');
  }
  for (const other of ['it-length-prefixed', 'ws']) {
    check(`W1 p50 below ${other}'s`, vs(other, 'rtt-12B', 'p50'), 1, 'max');
    for (const [id, w] of [
      ['W2', 'flood-12B'],
      ['W3', 'bulk-1KiB'],
      ['W4', 'bulk-64KiB'],
      ['W5', 'bulk-1MiB'],
    ]) {
      check(`${id} msgs/s above ${other}'s`, vs(other, w, 'msgsPerSec'), 1, 'min');
    }
  }
  for (const [id, w] of [
    ['W4', 'bulk-64KiB'],
    ['W5', 'bulk-1MiB'],
  ]) {
    check(`${id} peak RSS, sender ≤ 1.25 × net-raw`, vs('net-raw', w, 'rssSender'), 1.25, 'max');
  }
  for (const w of ['idle-1000-conns', 'idle-10000-conns']) {
    for (const [m, label] of [
      ['heapPerConnServer', 'heap, accepting side'],
      ['rssPerConnServer', 'RSS, accepting side'],
      ['heapPerConnClient', 'heap, connecting side'],
      ['rssPerConnClient', 'RSS, connecting side'],
    ]) {
      check(`${w} ${label} ≤ 1.25 × net-raw`, vs('net-raw', w, m), 1.25, 'max');
    }
  }
  for (const [m, label] of [
    ['lateP50', 'median'],
    ['lateMax', 'worst'],
  ]) {
    check(
      `timer lateness under a 1,000-peer flood, ${label} ≤ 2 × net-raw`,
      vs('net-raw', 'timer-lateness-1000-peers', m),
      2,
      'max',
    );
  }
  check(
    'W2 beats the Rust crate (0.5–1.0 M msgs/s)',
    pl('flood-12B', 'msgsPerSec'),
    1e6,
    'min',
    'msgs/s',
  );
  check('W3 beats the Rust crate (465 MiB/s)', pl('bulk-1KiB', 'mibPerSec'), 465, 'min', 'MiB/s');
  check(
    'W4 beats the Rust crate (930–1,030 MiB/s)',
    pl('bulk-64KiB', 'mibPerSec'),
    1030,
    'min',
    'MiB/s',
  );
  check(
    'W5 beats the Rust crate (930–1,030 MiB/s)',
    pl('bulk-1MiB', 'mibPerSec'),
    1030,
    'min',
    'MiB/s',
  );
  return out;
}
