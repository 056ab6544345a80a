import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startServer } from '../support/harness.js';

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');

describe('deploy/: Grafana dashboard and alert rules', () => {
  it('should only use metrics the server exposes', async () => {
    const app = await startServer();
    const exposition = await (await fetch(app.url.replace(/\/graphql$/, '/metrics'))).text();
    const exposed = new Set([...exposition.matchAll(/^# TYPE (\w+) (\w+)$/gm)].flatMap(([, name, type]) =>
      type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!],
    ));
    const dashboard = JSON.parse(read('deploy/grafana/realmcast-dashboard.json')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    const expressions = [
      ...dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr)),
      ...[...read('deploy/prometheus-alerts.yml').matchAll(/^\s*expr: (.+)$/gm)].map((match) => match[1]!),
    ];
    expect(expressions.length).toBeGreaterThan(10);
    const used = new Set(expressions.flatMap((expr) => [...expr.matchAll(/\b((?:realmcast|nodejs|process)_\w+)/g)].map((match) => match[1]!)));
    expect([...used].filter((name) => !exposed.has(name))).toEqual([]);
  });
});
