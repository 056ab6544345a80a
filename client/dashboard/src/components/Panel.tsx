import type { ReactNode } from 'react';

export interface PanelProps {
  /** Used for the heading id and as a CSS grid area name. */
  id: string;
  title: string;
  /** Small text or controls at the right of the heading. */
  aside?: ReactNode;
  children: ReactNode;
}

/** A titled dashboard card; a `section` labelled by its heading. */
export function Panel({ id, title, aside, children }: PanelProps) {
  return (
    <section className={`panel panel-${id}`} aria-labelledby={`${id}-title`} data-panel={id}>
      <header className="panel-head">
        <h2 id={`${id}-title`}>{title}</h2>
        {aside ? <div className="panel-aside">{aside}</div> : null}
      </header>
      <div className="panel-body">{children}</div>
    </section>
  );
}
