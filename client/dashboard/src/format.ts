/** Number and time formatting shared by the panels (fixed locale: the dashboard is in English). */

const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const clock = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** `1,234.50` */
export const formatPrice = (value: number) => money.format(value);
/** `1,235` */
export const formatInteger = (value: number) => integer.format(value);
/** `1.2K` */
export const formatCompact = (value: number) => compact.format(value);

/** `+1.23` / `−1.23` with a real minus sign, and `0.00` unsigned. */
export function formatSigned(value: number, digits = 2): string {
  const rounded = Number(value.toFixed(digits));
  const text = Math.abs(rounded).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  if (rounded > 0) return `+${text}`;
  if (rounded < 0) return `\u2212${text}`;
  return text;
}

/** `+1.23%` */
export const formatPercent = (value: number) => `${formatSigned(value)}%`;

/** `up`, `down` or `flat`, for coloring. */
export const trend = (value: number): 'up' | 'down' | 'flat' => (value > 0.004 ? 'up' : value < -0.004 ? 'down' : 'flat');

/** `14:05:09`, local time. */
export const formatClock = (iso: string) => clock.format(new Date(iso));

/** The message of a failed operation, as the server worded it. */
export function errorMessage(error: unknown): string {
  const errors = (error as { errors?: Array<{ message?: string }> } | null)?.errors;
  if (Array.isArray(errors) && errors.length) return errors.map((e) => e.message ?? 'Unknown error').join(' ');
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The `extensions.code` of the first GraphQL error, if any. */
export function errorCode(error: unknown): string | undefined {
  const errors = (error as { errors?: Array<{ extensions?: { code?: unknown } }> } | null)?.errors;
  const code = Array.isArray(errors) ? errors[0]?.extensions?.code : undefined;
  return typeof code === 'string' ? code : undefined;
}
