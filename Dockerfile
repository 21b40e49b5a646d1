# why502: the same steps as the README and .ci/run (npm ci builds dist/ through the prepare script).
FROM node:24-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY assembly ./assembly
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# DejaVu Sans draws the text of incident charts (without it they go out without a chart).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
RUN groupadd --system why502 && useradd --system --gid why502 --home-dir /home/why502 --create-home why502
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/build ./build
COPY package.json ./
COPY bin ./bin
COPY playbooks ./playbooks
COPY docs ./docs
COPY slack ./slack
RUN mkdir -p /var/lib/why502 && chown why502:why502 /var/lib/why502
VOLUME /var/lib/why502
USER why502
EXPOSE 3000
HEALTHCHECK CMD node -e "fetch('http://127.0.0.1:3000/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["node", "bin/why502.js"]
CMD ["serve", "--config", "/etc/why502/why502.yaml"]
