import { useId } from 'react';

export interface SparklineProps {
  /** Values, oldest first. */
  values: readonly number[];
  /** Accessible description, e.g. "IRON, last 40 prices, up 3.2%". */
  label: string;
  width?: number;
  height?: number;
  /**
   * Color direction. Pass the direction the rest of the row shows (a stock's
   * change since the open), so the line never reads green next to a red
   * change. @default last value against the first
   */
  direction?: 'up' | 'down' | 'flat';
}

/**
 * A small SVG line chart with a soft area under it, colored by `direction`
 * (by default the last value against the first). One value draws a flat line.
 */
export function Sparkline({ values, label, width = 120, height = 32, direction: given }: SparklineProps) {
  const gradientId = useId();
  const pad = 2;
  const points = values.length === 1 ? [values[0]!, values[0]!] : values;
  const min = Math.min(...points);
  const max = Math.max(...points);
  const span = max - min || 1;
  const step = points.length > 1 ? (width - pad * 2) / (points.length - 1) : 0;
  const coords = points.map((v, i) => [pad + i * step, max === min ? height / 2 : pad + (1 - (v - min) / span) * (height - pad * 2)] as const);
  const line = coords.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`).join(' ');
  const area = `${line} L${coords.at(-1)![0].toFixed(1)} ${height} L${coords[0]![0].toFixed(1)} ${height} Z`;
  const first = points[0] ?? 0;
  const last = points.at(-1) ?? 0;
  const direction = given ?? (last > first ? 'up' : last < first ? 'down' : 'flat');
  const [endX, endY] = coords.at(-1)!;
  return (
    <svg className={`sparkline ${direction}`} viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={label} preserveAspectRatio="none">
      <defs>
        <linearGradient id={gradientId} x1="0" y1="0" x2="0" y2="1">
          <stop offset="0%" stopColor="currentColor" stopOpacity="0.35" />
          <stop offset="100%" stopColor="currentColor" stopOpacity="0" />
        </linearGradient>
      </defs>
      <path d={area} fill={`url(#${gradientId})`} stroke="none" />
      <path d={line} fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinejoin="round" strokeLinecap="round" vectorEffect="non-scaling-stroke" />
      <circle cx={endX} cy={endY} r="2" fill="currentColor" />
    </svg>
  );
}
