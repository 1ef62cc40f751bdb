# shellcheck shell=bash
# benches/lib.sh: what the benchmark scripts share. Sourced, not run.
# Every address used is on 127.0.0.1.

# An nginx.conf serving $2 on 127.0.0.1:$1 from a private prefix $3 (pid, logs,
# temp paths), access log off, one worker; $4 is extra server-block directives.
nginx_conf() {
  local port=$1 root=$2 prefix=$3 extra=${4:-} temp_paths m
  mkdir -p "$prefix/nginx-tmp"
  temp_paths="client_body_temp_path $prefix/nginx-tmp/body;"
  for m in proxy fastcgi uwsgi scgi; do
    nginx -V 2>&1 | grep -q -- "--without-http_${m}_module" || temp_paths+=" ${m}_temp_path $prefix/nginx-tmp/$m;"
  done
  cat <<NGINX
worker_processes 1;
daemon off;
pid $prefix/nginx.pid;
error_log $prefix/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    $temp_paths
    server {
        listen 127.0.0.1:$port;
        root $root;
        $extra
    }
}
NGINX
}

# Starts nginx serving "ok" at / on a free 127.0.0.1 port from private prefix $1,
# and waits for it: sets NGINX_PORT and appends nginx's pid to the caller's PIDS.
serve_ok_page() {
  local prefix=$1
  NGINX_PORT=$(pick_port)
  mkdir -p "$prefix/www"
  echo ok >"$prefix/www/index.html"
  chmod -R a+rX "$prefix/www"
  nginx_conf "$NGINX_PORT" "$prefix/www" "$prefix" >"$prefix/nginx.conf"
  nginx -p "$prefix" -c "$prefix/nginx.conf" &
  PIDS+=($!)
  wait_http_ok "http://127.0.0.1:$NGINX_PORT/"
}

# Replaces what lies between the lines $2 and $3 of Markdown file $1 with the
# contents of file $4 (the markers stay). Does nothing if the markers are absent.
replace_section() {
  local doc=$1 start=$2 end=$3 report=$4
  grep -qF "$start" "$doc" && grep -qF "$end" "$doc" || return 0
  awk -v s="$start" -v e="$end" -v r="$report" '
    $0 == s { print; while ((getline line < r) > 0) print line; skip = 1; next }
    $0 == e { skip = 0 }
    !skip' "$doc" >"$doc.tmp.$$"
  cat "$doc.tmp.$$" >"$doc"
  rm -f "$doc.tmp.$$"
}

# A /proc/PID/status field (VmRSS, VmHWM) of process $1, in KiB.
proc_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# A free TCP port on 127.0.0.1, chosen by the kernel.
pick_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Waits up to 10 s for URL $1 to answer 2xx.
wait_http_ok() {
  local _
  for _ in $(seq 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "no answer from $1" >&2
  return 1
}

# Stops the processes given: TERM, up to 1 s each to go, then KILL. For EXIT traps.
stop_pids() {
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# CPU seconds (user + system) process $1 has used so far.
cpu_s() { sed 's/.*) //' "/proc/$1/stat" | awk '{ printf "%.2f", ($12 + $13) / 100 }'; }
