#!/bin/sh
# A stand-in for the docker CLI, for tests/docs.rs (there is no Docker engine on the test
# machine): `docker build -t TAG [...] DIR` keeps the test image (an OCI layout) under TAG, and
# `docker push TAG` pushes it with skopeo to TAG's registry, with the credentials docker would use:
# those in Docker's config.json ($DOCKER_CONFIG, else ~/.docker). Anything else fails.
# Settings: DOCKER_STANDIN_IMAGE (the OCI layout to "build"), DOCKER_STANDIN_STORE (built
# images), DOCKER_STANDIN_CERTS (the CA of the local registries, skopeo's --dest-cert-dir).
set -eu

store="${DOCKER_STANDIN_STORE:?is not set}"
key() { printf '%s' "$1" | tr '/:@' '___'; }

case "${1:-}" in
  build)
    shift
    tag=""
    context=""
    while [ $# -gt 0 ]; do
      case "$1" in
        -t | --tag) tag="$2"; shift 2 ;;
        -*) echo "docker stand-in: unsupported build option $1" >&2; exit 1 ;;
        *) context="$1"; shift ;;
      esac
    done
    [ -n "$tag" ] || { echo "docker stand-in: build needs -t TAG" >&2; exit 1; }
    [ -d "$context" ] || { echo "docker stand-in: no build context ${context:-given}" >&2; exit 1; }
    case "$tag" in
      /*) echo "invalid reference format: $tag (an empty registry?)" >&2; exit 1 ;;
    esac
    mkdir -p "$store"
    rm -rf "${store:?}/$(key "$tag")"
    cp -R "${DOCKER_STANDIN_IMAGE:?is not set}" "$store/$(key "$tag")"
    echo "Successfully tagged $tag"
    ;;
  push)
    tag="${2:?docker push needs a tag}"
    [ -d "$store/$(key "$tag")" ] || { echo "An image does not exist locally with the tag: $tag" >&2; exit 1; }
    exec skopeo --insecure-policy copy --quiet \
      --dest-authfile "${DOCKER_CONFIG:-$HOME/.docker}/config.json" \
      --dest-cert-dir "${DOCKER_STANDIN_CERTS:?is not set}" \
      "oci:$store/$(key "$tag"):v1" "docker://$tag"
    ;;
  *)
    echo "docker stand-in: unsupported: docker $*" >&2
    exit 1
    ;;
esac
