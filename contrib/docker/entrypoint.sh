#!/bin/sh
# The container's entry point (see the Dockerfile): registry-janitor with the
# arguments given, as the bundle on the image's node. It also answers to the
# name `registry` (the image links /bin/registry to it), and drops a first
# argument `registry` or `/bin/registry`, so a CronJob written for the
# registry's own image (`/bin/registry garbage-collect --delete-untagged=true
# /etc/docker/registry/config.yml`) runs the drop-in unchanged. Anything else
# under that name (`registry serve`) is refused: this image serves nothing.
set -eu

JANITOR_JS="${REGISTRY_JANITOR_JS:-/usr/local/lib/registry-janitor/registry-janitor.cjs}"
NODE="${REGISTRY_JANITOR_NODE:-node}"

as_registry=no
case "$(basename "$0")" in
  registry) as_registry=yes ;;
esac
case "${1:-}" in
  registry | /bin/registry)
    as_registry=yes
    shift
    ;;
esac

if [ "$as_registry" = yes ]; then
  case "${1:-}" in
    garbage-collect) ;;
    *)
      echo "registry-janitor: error: this image runs only \`registry garbage-collect\` (registry-janitor's drop-in), not \`registry ${1:-}\`: serve the registry from its own image" >&2
      exit 2
      ;;
  esac
fi

exec "$NODE" "$JANITOR_JS" "$@"
