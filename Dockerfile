# Realmcast server image (used by compose.yaml). better-sqlite3 compiles
# from source, so the build stage has the full toolchain.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production PORT=4000
COPY --from=build /app /app
EXPOSE 4000
USER node
CMD ["node", "--import", "tsx", "server/main.ts"]
