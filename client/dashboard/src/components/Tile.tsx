export interface TileProps {
  label: string;
  value: string;
  /** `up`, `down` or `flat` (see `trend`), for colouring. */
  tone?: string;
  testId: string;
}

/** One figure of a `dl.tiles` row: a label and its value. */
export function Tile({ label, value, tone, testId }: TileProps) {
  return (
    <div className="tile">
      <dt>{label}</dt>
      <dd className={`num ${tone ?? ''}`} data-testid={testId}>
        {value}
      </dd>
    </div>
  );
}
