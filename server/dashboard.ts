import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sirv from 'sirv';

/** Where `npm run build` writes the dashboard, whether this file runs from `server/` (tsx) or from `dist/server/` (compiled). */
export const dashboardDir = fileURLToPath(new URL(import.meta.url.includes('/dist/server/') ? '../dashboard' : '../dist/dashboard', import.meta.url));

type Handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

const notBuiltPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Realmcast</title></head>
<body style="font-family:system-ui;max-width:40rem;margin:4rem auto;line-height:1.5">
<h1>Realmcast</h1><p>The dashboard is not built yet: run <code>npm run build</code> (or <code>npm start</code>, which builds it).</p>
<p>GraphiQL is at <a href="/graphql">/graphql</a>.</p></body></html>`;

/**
 * Serves the built dashboard: hashed files under `/assets/` are cached for a
 * year (their names change with their content), everything else (index.html)
 * is revalidated on every load so a deploy shows at once, each sent
 * precompressed (brotli or gzip) to browsers that accept it. Requests for other
 * paths fall through to `next` (GraphQL, health, metrics).
 */
export function createDashboardHandler(dir: string = dashboardDir): Handler {
  if (!existsSync(path.join(dir, 'index.html'))) {
    return (req, res, next) => {
      if (req.url !== '/' || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }).end(notBuiltPage);
    };
  }
  return sirv(dir, {
    etag: true,
    // The build writes .br/.gz next to each file; sirv picks one by Accept-Encoding.
    brotli: true,
    gzip: true,
    setHeaders(res, pathname) {
      res.setHeader('Cache-Control', pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
