/**
 * Shell and awk text of the access-log aggregate: the host counts an access log's responses over a window per
 * UTC minute, status and upstream address, and sends only the counts. POSIX `sh` and POSIX awk only (mawk,
 * gawk, busybox awk: no gawk extensions, no `{n}` regex intervals, no asort, no strftime/systime). Same naming
 * rules as window.sh.ts (`w_` helpers and variables); it reuses log-window.sh.ts's window search and rotation list by
 * calling `w_log` itself, so every rotation scheme the log window reads is counted too.
 *
 * Written with String.raw (backslashes stay as written); the text holds no `${`, so nothing is interpolated.
 */

/**
 * The counter. Input: the log's lines from a little before the window (oldest rotated file first). Variables
 * (`-v`): `since`, `until` (epoch seconds, the collector's clock, inclusive), `sh` (host clock minus collector
 * clock, seconds, 0 unless the host is off by more than the script's tolerance), `sl` (slack: lines this many
 * seconds past `until` end the reading, since a few lines come out of order), `dl` (seconds of work allowed;
 * checked every 4096 lines with `srand()`, which returns the previous seed, the time of day, in POSIX awk),
 * `mk` (distinct keys allowed), `f` (12 integers: field positions, see aggregate-fields.ts, and 1 for an
 * escape=json format, whose `\"` and `\\` escapes are dropped before splitting).
 *
 * A line is split at `"` (FS) into pieces, and a piece into words. `$time_local` (`25/Nov/2026:12:44:43
 * +0530`) becomes epoch seconds with the zone applied (w_days, w_mon, w_key from AWK_TIME); the conversion is
 * cached per minute and zone, so most lines cost a substr and a compare. The upstream counted is the last
 * address of `$upstream_addr`: nginx lists every peer it tried (`a:1, b:2`, and ` : ` between the groups of an
 * internal redirect such as error_page to a named location), and the status logged is the one the client got,
 * which came from the last attempt; the earlier peers failed and nginx moved on. Counting the last one puts
 * each response on the peer that produced it.
 *
 * Output: one summary line first (`# lines=... counted=... outside=... unread=... keys=... dropped=...
 * timedout=0|1 stopped=0|1`, so a byte cap never cuts it), then `MINUTE STATUS TARGET COUNT` per key, in no
 * order. `lt=1` on fd 4 (the section is then marked truncated) when keys were dropped for `mk` or the time ran
 * out. Unreadable lines (another format, a cut line, a status outside 100-599) are counted, never guessed.
 */
export const AWK_AGGREGATE = String.raw`
BEGIN {
  FS = "\""
  if (split(f, F, " ") != 12) bad = 1
  for (i = 1; i <= 12; i++) if (F[i] !~ /^-?[0-9]+$/) bad = 1
  if (bad) { print "why502: bad field positions: " f | "cat >&2"; exit 2 }
  nq = F[1] + 0; tq = F[2] + 0; tw = F[3] + 0; tp = F[4] + 0; sq = F[5] + 0; sw = F[6] + 0; sp = F[7] + 0
  uq = F[8] + 0; uw = F[9] + 0; up = F[10] + 0; uf = F[11] + 0; js = F[12] + 0
  since += 0; until += 0; sh += 0; sl += 0; dl += 0; mk += 0
  srand(); t0 = srand(); lp = ""; lm = -1
}
++lines % 4096 == 0 && dl > 0 { srand(); if (srand() - t0 >= dl) { late = 1; exit } }
js && index($0, "\\") { gsub(/\\./, "") }
NF != nq { unread++; next }
{
  n = split($tq, w, " "); i = tw > 0 ? tw : n + 1 + tw
  if (i < 1 || i >= n) { unread++; next }
  if (w[i] != lw || w[i + 1] != lz) {
    d = tp ? substr(w[i], tp + 1) : w[i]
    p = substr(d, 1, 17) substr(w[i + 1], 1, 5)
    if (p != lp) {
      if (d !~ /^[0-3][0-9]\/[A-Z][a-z][a-z]\/[12][0-9][0-9][0-9]:[0-2][0-9]:[0-5][0-9]:/ || p !~ /[-+][0-2][0-9][0-5][0-9]$/ || !(mo = w_mon(substr(d, 4, 3)))) { unread++; next }
      o = (substr(p, 19, 2) * 60 + substr(p, 21, 2)) * (substr(p, 18, 1) == "-" ? -1 : 1)
      lb = w_days(substr(d, 8, 4) + 0, mo, substr(d, 1, 2) + 0) * 86400 + substr(d, 13, 2) * 3600 + substr(d, 16, 2) * 60 - o * 60 - sh
      lp = p
    }
    s = substr(d, 19)
    if (length(d) != 20 || substr(d, 18, 1) != ":" || s !~ /^[0-6][0-9]$/) { unread++; next }
    e = lb + s; lw = w[i]; lz = w[i + 1]
  }
  if (e < since) { outside++; next }
  if (e > until) {
    outside++
    if (e > until + sl) { stopped = 1; exit }
    next
  }
  n = split($sq, v, " "); i = sw > 0 ? sw : n + 1 + sw
  if (i < 1 || i > n) { unread++; next }
  st = substr(v[i], sp + 1, 3)
  if (st !~ /^[1-5][0-9][0-9]$/ || length(v[i]) < sp + 3) { unread++; next }
  t = "-"
  if (uq && (uw == 1 || uw == -1) && !index($uq, " ") && !index($uq, "\t")) {
    t = $uq
    if (up || uf) t = substr(t, up + 1, length(t) - up - uf)
  } else if (uq) {
    n = split($uq, u, " ")
    if (uw > 0) {
      i = uw
      while (i < n && (u[i] ~ /,$/ || u[i + 1] == ":")) i += u[i + 1] == ":" ? 2 : 1
      if (i > n) { unread++; next }
      t = u[i]; if (i == uw && up) t = substr(t, up + 1)
    } else {
      i = n + 1 + uw
      if (i < 1) { unread++; next }
      t = u[i]; if (up && (i == 1 || (u[i - 1] !~ /,$/ && u[i - 1] != ":"))) t = substr(t, up + 1)
    }
    if (uf) t = substr(t, 1, length(t) - uf)
  }
  if (t == "") t = "-"
  if (length(t) > 200) t = substr(t, 1, 200)
  m = int(e / 60)
  if (m != lm) { lm = m; k = w_key(m * 60); li = substr(k, 1, 4) "-" substr(k, 5, 2) "-" substr(k, 7, 2) "T" substr(k, 9, 2) ":" substr(k, 11, 2) }
  k = li " " st " " t
  if (!(k in c)) { if (keys >= mk) { dropped++; next } keys++ }
  c[k]++; counted++
}
END {
  if (bad) exit 2
  printf "# lines=%.0f counted=%.0f outside=%.0f unread=%.0f keys=%.0f dropped=%.0f timedout=%d stopped=%d\n", lines, counted, outside, unread, keys, dropped, late, stopped
  for (k in c) printf "%s %.0f\n", k, c[k]
  if (dropped || late) print "lt=1" | "cat >&4"
}
`;

/**
 * `w_agg PATH SINCE UNTIL SECONDS MAXKEYS FIELDS`: runs `w_log` (log-window.sh.ts) with no byte cap in a subshell
 * whose window starts `sl` seconds before SINCE (moved into the host's clock, as W_SINCE is), with gzip'ed
 * rotations streamed rather than buffered (`W_KEEP` replaced by a pass-through there), and pipes the lines into
 * the counter, which ends the reading at the first line well past UNTIL. Nothing but the counts leaves the
 * host. The counter runs under `timeout -k 1 SECONDS+2` where the host has one, a backstop for input that
 * stops arriving (its own clock check ends it at SECONDS with the counts so far). `rc=` is w_log's status
 * (missing or unreadable file), or the counter's when that failed.
 */
export const SH_AGGREGATE = `
w_agg() {
  w_ash=0
  case $W_SHIFT in ''|*[!0-9-]*) ;; *) w_ash=$W_SHIFT ;; esac
  w_ak=$(LC_ALL=C awk -v since=$(($2 + w_ash - 60)) -v hz="$W_Z" "$W_TIME"'BEGIN { w_init(); print w_key(since + ho * 60) }')
  w_ato=
  [ -n "$W_TO" ] && w_ato="timeout -k 1 $(($4 + 2))"
  ( W_SK=$w_ak W_KEEP='{ print }'; w_log "$1" 1099511627776 1; echo "rc=$?" >&4 ) |
    LC_ALL=C $w_ato awk -v since="$2" -v until="$3" -v sh="$w_ash" -v sl=60 -v dl="$4" -v mk="$5" -v f="$6" "$W_TIME$W_AGG"
  w_ax=$?
  [ "$w_ax" -eq 0 ] || echo "rc=$w_ax" >&4
}
`;
