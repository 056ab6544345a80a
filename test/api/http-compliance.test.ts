import { serverAudits } from 'graphql-http';
import { describe, expect, it } from 'vitest';
import { startServer } from '../support/harness.js';

describe('GraphQL over HTTP', () => {
  it('should pass every MUST audit of graphql-http', async () => {
    const app = await startServer();
    const failures: string[] = [];
    const audits = serverAudits({ url: app.url, fetchFn: fetch });
    expect(audits.filter((audit) => audit.name.startsWith('MUST')).length).toBeGreaterThan(10);
    for (const audit of audits) {
      const result = await audit.fn();
      if (result.name.startsWith('MUST') && result.status !== 'ok') failures.push(`${result.name}: ${result.reason}`);
    }
    expect(failures).toEqual([]);
  });

  it('should answer /health and /ready', async () => {
    const app = await startServer();
    const base = app.url.replace('/graphql', '');
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    const metrics = await fetch(`${base}/metrics`);
    expect(await metrics.text()).toContain('realmcast_graphql_operations_total');
  });

  it('should serve GraphiQL to a browser at /graphql', async () => {
    const app = await startServer();
    const page = await fetch(app.url, { headers: { accept: 'text/html' } });
    const html = await page.text();
    expect(html).toContain('<title>Realmcast</title>');
    expect(html).toContain('subscription LiveTicks');
  });
});
