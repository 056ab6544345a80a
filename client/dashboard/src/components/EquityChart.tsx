import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface EquityPoint {
  /** Epoch seconds. */
  at: number;
  equity: number;
}

export interface EquityChartProps {
  /** Points, oldest first. */
  points: readonly EquityPoint[];
  /** Accessible summary of what the chart shows. */
  label: string;
  height?: number;
}

/** Reads a CSS custom property of the page (the chart follows the dashboard's palette). */
const cssVar = (name: string, fallback: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

/** The equity line, its running peak, and the area between them: the drawdown. */
function chartData(points: readonly EquityPoint[]): uPlot.AlignedData {
  let peak = Number.NEGATIVE_INFINITY;
  const peaks = points.map((p) => (peak = Math.max(peak, p.equity)));
  return [points.map((p) => p.at), points.map((p) => p.equity), peaks];
}

/**
 * The equity curve with drawdown shading, drawn by uPlot (axes, scales,
 * cursor and legend are its own; a few thousand points stay smooth): equity
 * as a line, the running peak as a faint dashed line, and the band between
 * them filled red wherever equity is below its peak.
 */
export function EquityChart({ points, label, height = 220 }: EquityChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const element = container.current!;
    const muted = cssVar('--muted', '#97a3bd');
    const grid = cssVar('--border', '#26324a');
    const up = cssVar('--up', '#34d399');
    const down = cssVar('--down', '#fb7185');
    const axis: uPlot.Axis = { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '11px system-ui, sans-serif' };
    const options: uPlot.Options = {
      width: element.clientWidth || 600,
      height,
      cursor: { drag: { x: false, y: false } },
      legend: { show: true, live: true },
      scales: { x: { time: true } },
      axes: [axis, { ...axis, size: 64, values: (_u, splits) => splits.map((v) => v.toLocaleString('en-US', { maximumFractionDigits: 0 })) }],
      series: [
        {},
        { label: 'Equity', stroke: up, width: 2, value: (_u, v) => (v == null ? '–' : v.toFixed(2)) },
        { label: 'Peak', stroke: muted, width: 1, dash: [4, 4], value: (_u, v) => (v == null ? '–' : v.toFixed(2)) },
      ],
      // Between the peak (upper) and equity (lower): the drawdown.
      bands: [{ series: [2, 1], fill: `${down}55` }],
    };
    plot.current = new uPlot(options, chartData([]), element);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: element.clientWidth, height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [height]);

  useEffect(() => {
    plot.current?.setData(chartData(points));
  }, [points]);

  return <div className="equity-chart" ref={container} role="img" aria-label={label} data-testid="equity-chart" data-points={points.length} />;
}
