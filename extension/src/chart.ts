// Inline SVG line charts of closing prices: a sparkline in the panel and a larger chart in the main area.
import { Bars } from './api';

const SVG_NS = 'http://www.w3.org/2000/svg';

function svgElement(tag: string, attrs: Record<string, string | number>): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    el.setAttribute(key, String(value));
  }
  return el;
}

/** Points of the close series scaled into a width x height box (nulls skipped). */
function points(bars: Bars, width: number, height: number, pad: number, left = pad): { path: string; min: number; max: number } {
  const values = bars.close.filter((v): v is number => v !== null);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const n = Math.max(bars.close.length - 1, 1);
  const parts: string[] = [];
  bars.close.forEach((v, i) => {
    if (v === null) {
      return;
    }
    const x = left + (i / n) * (width - left - pad);
    const y = pad + (1 - (v - min) / span) * (height - 2 * pad);
    parts.push(`${parts.length ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`);
  });
  return { path: parts.join(' '), min, max };
}

/** A small line chart of the closes (no axes). */
export function sparkline(bars: Bars, width = 240, height = 48): SVGElement {
  const svg = svgElement('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'rbt-sparkline' });
  if (bars.close.some(v => v !== null)) {
    svg.appendChild(svgElement('path', { d: points(bars, width, height, 2).path, class: 'rbt-line' }));
  }
  return svg;
}

/** A larger chart: the close line with min / max labels and the first and last date. */
export function lineChart(bars: Bars, width = 720, height = 320): SVGElement {
  const pad = 28;
  const left = 72; // room for the price labels
  const svg = svgElement('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'rbt-chart' });
  if (!bars.close.some(v => v !== null)) {
    return svg;
  }
  const { path, min, max } = points(bars, width, height, pad, left);
  svg.appendChild(svgElement('rect', { x: left, y: pad, width: width - left - pad, height: height - 2 * pad, class: 'rbt-frame' }));
  svg.appendChild(svgElement('path', { d: path, class: 'rbt-line' }));
  const label = (text: string, x: number, y: number, anchor: string): void => {
    const t = svgElement('text', { x, y, 'text-anchor': anchor, class: 'rbt-axis' });
    t.textContent = text;
    svg.appendChild(t);
  };
  label(String(Number(max.toPrecision(6))), left - 4, pad + 4, 'end');
  label(String(Number(min.toPrecision(6))), left - 4, height - pad, 'end');
  label(bars.timestamp[0].slice(0, 10), left, height - 8, 'start');
  label(bars.timestamp[bars.timestamp.length - 1].slice(0, 10), width - pad, height - 8, 'end');
  return svg;
}
