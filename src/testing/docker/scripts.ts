/**
 * The shell programs inside the Docker lab's images (busybox `sh`). They are part of each image's
 * content hash, so changing one rebuilds that image.
 *
 * busybox facts these rely on (busybox 1.35, Debian's busybox-static):
 * - `httpd` consumes an `Authorization: Basic …` header itself (it never reaches a CGI; other
 *   schemes arrive as HTTP_AUTHORIZATION, every other header as HTTP_<NAME>), it routes CGIs only
 *   under `/cgi-bin/`, and it has no proxy (`P:`) lines. So the gateway and the detector speak
 *   HTTP from a shell handler behind `nc -ll -e` (a fork per connection), which sees every header.
 * - `nc` is the small one: no `-z`, no `-k`, and `-w` is a connect timeout only (a silent server
 *   keeps it forever). `nc -w 1 HOST PORT -e /bin/true` is a port check; deadlines are a watchdog.
 * - `timeout` has 1 s resolution; `sleep` takes fractions; `date` has no `%N`.
 */

/** Shared HTTP helpers: read one request from stdin, write one response to stdout. */
export const httpLib = `# shiftup lab: one HTTP/1.x exchange on stdin/stdout (behind nc -ll -e)
CR=$(printf '\\r')
http_read() {
  read -t 5 -r REQ_METHOD REQ_TARGET REQ_PROTO || return 1
  REQ_PATH=\${REQ_TARGET%%\\?*}
  REQ_AUTHORIZATION=""
  REQ_RUN_ID=""
  while read -t 5 -r line; do
    line=\${line%"$CR"}
    [ -z "$line" ] && break
    case "$line" in
      [Aa][Uu][Tt][Hh][Oo][Rr][Ii][Zz][Aa][Tt][Ii][Oo][Nn]:*) REQ_AUTHORIZATION=\${line#*:}; REQ_AUTHORIZATION=\${REQ_AUTHORIZATION# } ;;
      [Xx]-[Ss][Hh][Ii][Ff][Tt][Uu][Pp]-[Rr][Uu][Nn]-[Ii][Dd]:*) REQ_RUN_ID=\${line#*:}; REQ_RUN_ID=\${REQ_RUN_ID# } ;;
    esac
  done
  return 0
}
# http_respond STATUS BODY [HEADER-LINE]
http_respond() {
  if [ -n "$3" ]; then extra="$3$CR
"; else extra=""; fi
  printf 'HTTP/1.1 %s\\r\\nContent-Type: text/plain; charset=utf-8\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\nServer: shiftup-lab\\r\\n%s\\r\\n%s' "$1" "\${#2}" "$extra" "$2"
}
`

/** auth: busybox httpd; \`/check\` is guarded by basic auth (httpd.conf), \`/health\` is open. */
export const authStart = `#!/bin/sh
# shiftup lab auth: 200 on /check with the right basic-auth credentials, 401 otherwise.
echo "/check:\${AUTH_USER:-admin}:\${AUTH_PASSWORD:-demo-admin-token}" > /etc/httpd.conf
exec httpd -f -p 80 -h /www -c /etc/httpd.conf -r shiftup-lab
`

/** gateway: /admin asks auth (forwarding the client's Authorization header) under a deadline. */
export const gatewayHandler = `#!/bin/sh
# shiftup lab gateway: one request per process (nc -ll -e).
. /lib/http.sh
http_read || exit 0

admin() {
  tmp=/tmp/auth.$$
  if [ -n "$REQ_AUTHORIZATION" ]; then hdr="Authorization: $REQ_AUTHORIZATION$CR
"; else hdr=""; fi
  printf 'GET /check HTTP/1.0\\r\\nHost: auth\\r\\n%s\\r\\n' "$hdr" | nc "\${AUTH_HOST:-auth}" "\${AUTH_PORT:-80}" > "$tmp" 2>/dev/null &
  pid=$!
  ( sleep "\${AUTH_TIMEOUT:-0.5}"; kill "$pid" ) >/dev/null 2>&1 &
  watchdog=$!
  wait "$pid"
  rc=$?
  kill "$watchdog" 2>/dev/null
  status=""
  read -r _ status _ < "$tmp"
  rm -f "$tmp"
  case "$status" in
    200) http_respond "200 OK" "shiftup lab admin console" "X-Auth-Verdict: allow" ;;
    401|403)
      if [ -z "$REQ_AUTHORIZATION" ]; then
        http_respond "401 Unauthorized" "authentication required" 'WWW-Authenticate: Basic realm="shiftup-lab"'
      else
        http_respond "403 Forbidden" "forbidden" "X-Auth-Verdict: deny"
      fi ;;
    *)
      if [ "$rc" -gt 128 ]; then
        if [ "$FAIL_OPEN_ON_TIMEOUT" = "1" ]; then
          # The planted weakness: an auth timeout is treated as "allow".
          http_respond "200 OK" "shiftup lab admin console" "X-Auth-Verdict: fail-open"
        else
          http_respond "503 Service Unavailable" "auth did not answer in time" "X-Auth-Verdict: timeout"
        fi
      else
        http_respond "503 Service Unavailable" "auth unavailable" "X-Auth-Verdict: error"
      fi ;;
  esac
}

case "$REQ_PATH" in
  /health) http_respond "200 OK" "ok" ;;
  /admin|/admin/*) admin ;;
  /) http_respond "200 OK" "shiftup lab gateway" ;;
  *) http_respond "404 Not Found" "not found" ;;
esac
`

export const gatewayStart = `#!/bin/sh
exec nc -ll -p 80 -e /app/handle
`

/** detector: serves /alerts and /health from the state the scan loop writes. */
export const detectorHandler = `#!/bin/sh
. /lib/http.sh
http_read || exit 0
case "$REQ_PATH" in
  /health) http_respond "200 OK" "ok" ;;
  /alerts) http_respond "200 OK" "$(cat /var/detector/alerts)" ;;
  /rounds) http_respond "200 OK" "$(cat /var/detector/rounds)" ;;
  *) http_respond "404 Not Found" "not found" ;;
esac
`

/**
 * The scan loop. Each round pings the candidate addresses in parallel, gives them \`SCAN_WAIT\`
 * seconds to answer (a live container answers in well under a millisecond; a free address would
 * hold the round for the 1 s ping deadline, so the round does not wait for those), then checks the
 * watched ports of every address that answered; a port newly seen open is one alert line.
 *
 * Candidates: \`SCAN_HOSTS\` (addresses or names) when set; else the detector's /24 up to the
 * highest address seen alive plus \`SCAN_GROW\` (Docker hands out addresses in order, so a new
 * container lands there), and the whole /24 every \`FULL_SWEEP_EVERY\` rounds. The network's
 * gateway (the host) and the detector itself are never probed.
 */
export const detectorScan = `#!/bin/sh
PORTS=\${WATCH_PORTS:-4444 6666 31337}
INTERVAL=\${SCAN_INTERVAL:-0.2}
WAIT=\${SCAN_WAIT:-0.25}
GROW=\${SCAN_GROW:-16}
FULL=\${FULL_SWEEP_EVERY:-40}
state=/var/detector
mkdir -p "$state"
: > "$state/open"
self=$(ip -4 addr show dev eth0 | sed -n 's/.*inet \\([0-9.]*\\)\\/.*/\\1/p' | head -n 1)
gw=$(ip route | sed -n 's/^default via \\([0-9.]*\\).*/\\1/p' | head -n 1)
prefix=\${self%.*}
first=\${SCAN_FROM:-1}
last=\${SCAN_TO:-254}
maxseen=\${self##*.}
round=0

while true; do
  round=$((round + 1))
  live="$state/live.$round"
  : > "$live"
  if [ -n "$SCAN_HOSTS" ]; then
    candidates=$SCAN_HOSTS
  else
    hi=$((maxseen + GROW))
    if [ "$hi" -gt "$last" ] || [ $((round % FULL)) -eq 1 ]; then hi=$last; fi
    candidates=""
    i=$first
    while [ "$i" -le "$hi" ]; do candidates="$candidates $prefix.$i"; i=$((i + 1)); done
  fi
  for h in $candidates; do
    if [ "$h" = "$self" ] || [ "$h" = "$gw" ]; then continue; fi
    ( ping -c 1 -W 1 "$h" > /dev/null 2>&1 && echo "$h" >> "$live" ) &
  done
  sleep "$WAIT"
  : > "$state/found"
  probes=""
  for h in $(cat "$live"); do
    o=\${h##*.}
    case "$o" in ''|*[!0-9]*) ;; *) if [ "$o" -gt "$maxseen" ]; then maxseen=$o; fi ;; esac
    for p in $PORTS; do
      ( nc -w 1 "$h" "$p" -e /bin/true < /dev/null > /dev/null 2>&1 && echo "$h:$p" >> "$state/found" ) &
      probes="$probes $!"
    done
  done
  if [ -n "$probes" ]; then wait $probes; fi
  now=$(date +%s)
  sort -u "$state/found" > "$state/found.sorted"
  while read -r hp; do
    grep -qxF "$hp" "$state/open" || echo "$now open $hp" >> "$state/alerts"
  done < "$state/found.sorted"
  mv "$state/found.sorted" "$state/open"
  rm -f "$state/live.$((round - 4))"
  echo "$round" > "$state/rounds"
  sleep "$INTERVAL"
done
`

export const detectorStart = `#!/bin/sh
mkdir -p /var/detector
: > /var/detector/alerts
echo 0 > /var/detector/rounds
/app/scan &
exec nc -ll -p 80 -e /app/handle
`

/** rogue: a listener on $PORT that greets and hangs up, like a forgotten debug shell. */
export const rogueStart = `#!/bin/sh
exec nc -ll -p "\${PORT:-4444}" -e /app/banner
`

export const rogueBanner = `#!/bin/sh
echo "rogue listener on $(hostname)"
`

/** Health check of a container serving HTTP on port 80: GET /health answers 200. */
export const healthCheck = `#!/bin/sh
printf 'GET /health HTTP/1.0\\r\\n\\r\\n' | nc -w 1 127.0.0.1 80 2>/dev/null | head -n 1 | grep -q ' 200 '
`
