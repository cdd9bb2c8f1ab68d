# syntax=docker/dockerfile:1
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production UV_THREADPOOL_SIZE=8
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
COPY dashboards ./dashboards
RUN mkdir -p /data && chown node:node /data
USER node
ENV SHADOWDIFF_STORAGE=/data/shadowdiff.duckdb
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve", "--config", "config/shadowdiff.yaml"]
