import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/**
 * Writes `.br` and `.gz` next to every emitted text file over 1 KiB, which
 * the server (sirv with `brotli`/`gzip`) sends to browsers that accept them:
 * compressed once at build time, never per request.
 */
function precompress(): Plugin {
  return {
    name: 'realmcast-precompress',
    apply: 'build',
    async writeBundle(options, bundle) {
      const outDir = options.dir!;
      await Promise.all(
        Object.values(bundle)
          .filter((file) => /\.(js|css|html|svg|json)$/.test(file.fileName))
          .map(async (file) => {
            const source = Buffer.from(file.type === 'chunk' ? file.code : file.source);
            if (source.length < 1024) return;
            const target = path.join(outDir, file.fileName);
            await writeFile(`${target}.br`, brotliCompressSync(source, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
            await writeFile(`${target}.gz`, gzipSync(source, { level: 9 }));
          }),
      );
    },
  };
}

/**
 * The dashboard: built into dist/dashboard and served by the server at `/`.
 * Paths are anchored to this file so the build is the same from any working
 * directory (npm scripts, the browser tests' programmatic `build()`).
 */
export default defineConfig({
  root: fileURLToPath(new URL('client/dashboard', import.meta.url)),
  plugins: [react(), precompress()],
  build: { outDir: fileURLToPath(new URL('dist/dashboard', import.meta.url)), emptyOutDir: true },
  server: { proxy: { '/graphql': { target: 'http://localhost:4000', ws: true } } },
});
