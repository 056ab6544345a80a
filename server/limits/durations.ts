/**
 * A rate: at most `points` calls per `seconds` (a fixed window per key,
 * counted in Redis when `REDIS_URL` is set). Written `<calls>/<duration>` in
 * the environment, e.g. `10/10m`, `300/10s`.
 */
export interface Rate {
  points: number;
  seconds: number;
}

const units = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;

/** A duration like `30d`, `10m`, `90s` (or plain seconds), in seconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * units[(match[2] || 's') as keyof typeof units];
}

/** A rate written `<calls>/<duration>` (`10/10m`); undefined when malformed. */
export function parseRate(text: string): Rate | undefined {
  const [points, window, ...rest] = text.split('/');
  const seconds = window === undefined ? undefined : parseDuration(window);
  if (rest.length || !/^\d+$/.test(points?.trim() ?? '') || !seconds) return undefined;
  return { points: Number(points), seconds };
}

/** A rate as the README writes it: `300/10s`. */
export const formatRate = ({ points, seconds }: Rate) =>
  seconds % 86_400 === 0 ? `${points}/${seconds / 86_400}d` : seconds % 3_600 === 0 ? `${points}/${seconds / 3_600}h` : seconds % 60 === 0 ? `${points}/${seconds / 60}m` : `${points}/${seconds}s`;
