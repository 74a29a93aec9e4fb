#!/usr/bin/env bash
# Idempotently builds the current nats-server release and the official `nats` CLI from source through the Go
# module proxy into a cache dir, then prints their paths on stdout (and nothing else), one `name=path` a line:
#
#   nats-server=<dir>/bin/nats-server   (the "current" server of the test matrix and the bench's default)
#   nats=<dir>/bin/nats                 (the `nats` CLI, an independent client in the tests)
#   nsc=<dir>/bin/nsc                   (operator/account/user JWTs for the tests of creds files)
#
#   dir: $NATS_TOOLS_DIR, default $HOME/.cache/openclaw-nats-eventstore/nats-tools-<server>-<cli>
#
# The other server of the test matrix is Debian's package (/usr/sbin/nats-server 2.9.10, installed by .ci/run).
# `go install github.com/nats-io/nsc/v2@v2.15.0` fails although the module proxy serves that version: `go install`
# first asks for the module's version list (for deprecation notices), which the proxy refuses (403). A throwaway
# module that requires nsc at that version builds the same source.
#
# A marker file (.install-complete) naming the versions is written only after both builds succeeded, so an
# interrupted build is redone on the next call. Concurrent callers are serialised with flock.
#
# Measured on the 2-vCPU dev box (go1.26.8, empty Go module and build caches, other tests running beside it):
# the cold install took 218 s wall (nats-server v2.15.3: 90 s, natscli v0.5.0: 98 s, nsc v2.15.0: 30 s,
# downloads included); the Go caches hold 1.1 GB afterwards (GOMODCACHE 646 MB, GOCACHE 461 MB). With the
# marker present the script returns in ~0.01 s.
set -euo pipefail

# Pins: the newest nats-server v2 release the module proxy serves, and the natscli release it accepts
# (`go list -m -versions github.com/nats-io/nats-server/v2`).
NATS_SERVER_VERSION="${NATS_SERVER_VERSION:-v2.15.3}"
NATSCLI_VERSION="${NATSCLI_VERSION:-v0.5.0}"
NSC_VERSION="${NSC_VERSION:-v2.15.0}"

dir="${NATS_TOOLS_DIR:-$HOME/.cache/openclaw-nats-eventstore/nats-tools-$NATS_SERVER_VERSION-$NATSCLI_VERSION}"
marker="$dir/.install-complete"
want="nats-server@$NATS_SERVER_VERSION natscli@$NATSCLI_VERSION nsc@$NSC_VERSION"
tools=(nats-server nats nsc)

print_paths() {
  for t in "${tools[@]}"; do printf '%s=%s\n' "$t" "$dir/bin/$t"; done
}
installed_ok() {
  [ -f "$marker" ] && [ "$(cat "$marker" 2>/dev/null)" = "$want" ] || return 1
  for t in "${tools[@]}"; do [ -x "$dir/bin/$t" ] || return 1; done
}

if installed_ok; then
  print_paths
  exit 0
fi

go_bin="$(command -v go || true)"
[ -n "$go_bin" ] || go_bin=/usr/local/go/bin/go
if [ ! -x "$go_bin" ]; then
  echo "ensure-nats-tools: no Go toolchain (go on PATH or /usr/local/go/bin/go); cannot build nats-server" >&2
  exit 1
fi

mkdir -p "$dir/bin"
exec 9>"$dir/.install.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
# Someone else may have finished while we waited for the lock.
if installed_ok; then
  print_paths
  exit 0
fi
rm -f "$marker"

build() { # $1 = module path with version
  local start
  start=$(date +%s)
  echo "ensure-nats-tools: go install $1 ..." >&2
  # Built into a staging dir and moved last, so a half-written binary never sits at the final path.
  GOBIN="$dir/.staging" CGO_ENABLED=0 "$go_bin" install "$1" >&2
  echo "ensure-nats-tools: $1 built in $(( $(date +%s) - start )) s" >&2
}
build_nsc() {
  local start mod
  start=$(date +%s)
  echo "ensure-nats-tools: building github.com/nats-io/nsc/v2@$NSC_VERSION ..." >&2
  mod="$(mktemp -d)"
  printf 'module nsc-build\n\ngo 1.26\n\nrequire github.com/nats-io/nsc/v2 %s\n' "$NSC_VERSION" >"$mod/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/nats-io/nsc/v2"\n' >"$mod/tools.go"
  (cd "$mod" && "$go_bin" mod tidy >&2 \
    && CGO_ENABLED=0 "$go_bin" build -o "$dir/.staging/nsc" github.com/nats-io/nsc/v2 >&2)
  rm -rf "$mod"
  echo "ensure-nats-tools: nsc $NSC_VERSION built in $(( $(date +%s) - start )) s" >&2
}
rm -rf "$dir/.staging"
build "github.com/nats-io/nats-server/v2@$NATS_SERVER_VERSION"
build "github.com/nats-io/natscli/nats@$NATSCLI_VERSION"
build_nsc
for t in "${tools[@]}"; do mv -f "$dir/.staging/$t" "$dir/bin/"; done
rm -rf "$dir/.staging"

"$dir/bin/nats-server" --version >&2
printf '%s\n' "$want" >"$marker"
print_paths
