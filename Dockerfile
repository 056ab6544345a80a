# Realmcast server image (used by compose.yaml).
#
#   docker build -t realmcast .
#   docker run -p 4000:4000 -e JWT_SECRET=$(openssl rand -base64 48) -v realmcast-data:/app/data realmcast
#
# test/deploy/dockerfile.test.ts runs these same steps without a container engine
# (install, build, prune dev dependencies, start the compiled server) and
# checks /, /graphql and a subscription against the result.

# --- build: everything needed to compile, then only what runs ---------------
# better-sqlite3 compiles from source, so this stage has the full toolchain.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY client/package.json client/
RUN npm ci --no-audit --no-fund
COPY . .
# The server (tsc → dist/server) and the dashboard (Vite → dist/dashboard),
# then the dev dependencies go (TypeScript, Vite, vitest, codegen).
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# --- bots: the example bots run from their TypeScript sources (tsx) ---------
FROM build AS bots
USER node
CMD ["npm", "run", "bot:market-maker"]

# --- runtime: compiled server, production dependencies, non-root -----------
FROM node:20-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production PORT=4000 DATA_DIR=/app/data
COPY --from=build --chown=node:node /app/package.json /app/package-lock.json ./
COPY --from=build --chown=node:node /app/client/package.json ./client/
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/scripts/run-built.mjs /app/scripts/builds.mjs ./scripts/
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 4000
VOLUME ["/app/data"]
HEALTHCHECK --interval=10s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:4000/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# `npm run token` works here too: the build is present and up to date, nothing is rebuilt.
CMD ["node", "--enable-source-maps", "dist/server/main.js"]
