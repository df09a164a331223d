# registry-janitor in a container: the bundle (`npm run package`, one .cjs
# file) on a small Node image, as a non-root user that `--user` (Kubernetes:
# runAsUser) sets to the registry volume's owner, with the registry's volume
# at /var/lib/registry. See "Install on a storage host" in the README.
#
#   docker build -t registry-janitor:0.1.0 .
#   docker run --rm --user "$(stat -c %u:%g /srv/registry)" \
#     -v /srv/registry:/var/lib/registry registry-janitor:0.1.0            # a dry run of gc
#   docker run --rm ... -v /etc/docker/registry:/etc/docker/registry:ro \
#     registry-janitor:0.1.0 garbage-collect -m /etc/docker/registry/config.yml

FROM node:20-alpine AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run package -- --no-sea

FROM node:20-alpine
COPY --from=build /src/.build/package/registry-janitor.cjs /usr/local/lib/registry-janitor/registry-janitor.cjs
COPY contrib/docker/entrypoint.sh /usr/local/bin/registry-janitor-entrypoint
# `registry-janitor ...` in a shell in the container, and `/bin/registry
# garbage-collect ...` for CronJobs written for the registry's own image.
RUN ln -s /usr/local/bin/registry-janitor-entrypoint /usr/local/bin/registry-janitor \
 && ln -s /usr/local/bin/registry-janitor-entrypoint /bin/registry
# The node image's own non-root user (uid 1000); override it with the volume's owner.
USER node
VOLUME /var/lib/registry
ENTRYPOINT ["/usr/local/bin/registry-janitor-entrypoint"]
CMD ["gc", "--dry-run", "--root", "/var/lib/registry"]
