#!/bin/sh
# Installs exec-server on a host: the program (the `deno task build` bundle, or a compiled binary), a
# bearer token, an environment file and the systemd unit. Nothing is overwritten but the program and
# the unit; the token and the environment file are written only when absent. With --root, every file
# goes under that directory instead of / and no systemctl command runs (a scratch root for tests or
# image builds).
set -eu

usage() {
  cat <<'USAGE'
usage: scripts/install.sh [--root DIR] [--prefix DIR] [--from FILE] [--listen URL]

  --root DIR    write every file under DIR instead of / (no systemctl is run)
  --prefix DIR  where the program lives at run time: PREFIX/bin/exec-server (default /usr/local)
  --from FILE   the bundle or binary to install (default: dist/exec-server-<arch>-unknown-linux-gnu
                from `deno task build --target ...`, else the bundle dist/exec-server.js)
  --listen URL  the address written to a new /etc/exec-server/exec-server.env
                (default ws://127.0.0.1:8765; a non-loopback address should come with TLS flags there)
  -h, --help    show this help
USAGE
}

root=""
prefix="/usr/local"
from=""
listen="ws://127.0.0.1:8765"
here=$(cd "$(dirname "$0")" && pwd)

while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || { usage >&2; exit 2; }; root=$2; shift 2 ;;
    --prefix) [ $# -ge 2 ] || { usage >&2; exit 2; }; prefix=$2; shift 2 ;;
    --from) [ $# -ge 2 ] || { usage >&2; exit 2; }; from=$2; shift 2 ;;
    --listen) [ $# -ge 2 ] || { usage >&2; exit 2; }; listen=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

case "$prefix" in
  /*) ;;
  *) echo "install.sh: --prefix must be an absolute path" >&2; exit 2 ;;
esac
if [ -n "$root" ]; then
  mkdir -p "$root"
  root=$(cd "$root" && pwd)
  [ "$root" = "/" ] && root=""
fi

if [ -z "$from" ]; then
  for candidate in "$here/../dist/exec-server-$(uname -m)-unknown-linux-gnu" "$here/../dist/exec-server.js"; do
    if [ -f "$candidate" ]; then from=$candidate; break; fi
  done
  if [ -z "$from" ]; then
    echo "install.sh: nothing to install: run \`deno task build\` first, or pass --from FILE" >&2
    exit 1
  fi
fi
[ -f "$from" ] || { echo "install.sh: --from $from: no such file" >&2; exit 1; }

bin="$root$prefix/bin"
etc="$root/etc/exec-server"
units="$root/etc/systemd/system"

mkdir -p "$bin" "$etc" "$units"
chmod 755 "$etc"
# Write next to the target, then rename: a running server's file is replaced, never rewritten in place.
cp "$from" "$bin/.exec-server.new"
chmod 755 "$bin/.exec-server.new"
mv -f "$bin/.exec-server.new" "$bin/exec-server"
echo "installed $prefix/bin/exec-server"

token="$etc/token"
if [ -e "$token" ]; then
  echo "kept the existing token /etc/exec-server/token"
else
  (
    umask 077
    # 32 random bytes as hex; the token is never printed.
    od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$token.new"
    echo >> "$token.new"
    chmod 600 "$token.new"
    mv "$token.new" "$token"
  )
  echo "wrote a new token to /etc/exec-server/token (mode 0600; give it to clients as their bearer token)"
fi

envfile="$etc/exec-server.env"
if [ -e "$envfile" ]; then
  echo "kept the existing /etc/exec-server/exec-server.env"
else
  cat > "$envfile.new" <<ENV
# Read by exec-server.service. EXEC_SERVER_ARGS are added to \`exec-server serve\` (the unit adds the
# token flags itself); for a non-loopback address add --tls-cert PATH --tls-key PATH.
EXEC_SERVER_ARGS=--listen $listen
# Log level (debug|info|warn|error|silent) and format (text|json): info shows connections and an audit
# line for every process start and exit, file write and remove, and http request.
EXEC_SERVER_LOG=info
EXEC_SERVER_LOG_FORMAT=json
ENV
  chmod 644 "$envfile.new"
  mv "$envfile.new" "$envfile"
  echo "wrote /etc/exec-server/exec-server.env (listen $listen)"
fi

sed "s#^ExecStart=/usr/local/bin/exec-server #ExecStart=$prefix/bin/exec-server #" \
  "$here/exec-server.service" > "$units/exec-server.service.new"
chmod 644 "$units/exec-server.service.new"
mv -f "$units/exec-server.service.new" "$units/exec-server.service"
echo "installed /etc/systemd/system/exec-server.service"

if [ -z "$root" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  echo "start it with: systemctl enable --now exec-server"
elif [ -n "$root" ]; then
  echo "scratch root $root: no systemctl command was run"
fi
