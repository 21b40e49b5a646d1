/**
 * Shell and awk text of the collection script's helpers, as written to the host. POSIX `sh` (dash,
 * busybox ash, bash) and POSIX awk (mawk, gawk, busybox awk) only. Helper names start with `w_`,
 * their variables with `w_` and the script's globals with `W_`, so nothing collides with a caller's
 * snippet (snippets run in their own `sh -c` anyway).
 *
 * The awk programs are stored in shell variables between single quotes, so they never contain a
 * single quote. Every awk runs under LC_ALL=C so that length() counts bytes.
 */

/**
 * Template tag that returns the raw text: backslashes stay as written (awk regexes need `\/`), and
 * `$\{` stands for a literal `${` (shell parameter expansion), which a template literal would
 * otherwise read as an interpolation.
 */
export function raw(strings: TemplateStringsArray): string {
  return strings.raw.join("").replaceAll("$\\{", "${");
}

/**
 * Timestamp library. `w_ts(line)` returns the line's time as a `YYYYMMDDHHMMSS` key in host local
 * time, or "" when the line has no timestamp it knows. Shapes, earliest in the line wins:
 * - `YYYY/MM/DD HH:MM:SS` (nginx error log, Go log LstdFlags), `YYYY-MM-DD HH:MM:SS` and ISO 8601
 *   `YYYY-MM-DDTHH:MM:SS`, each with an optional `.fff` or `,fff` fraction and an optional zone:
 *   `Z`, `+hh:mm`, `+hhmm`, or ` +hhmm]` (gunicorn `[2026-11-25 12:00:00 +0000]`);
 * - nginx `$time_local` `25/Nov/2026:12:00:00 +0000`, anywhere in the line (access-log formats put
 *   it after the client address);
 * - php-fpm and Tomcat `25-Nov-2026 12:00:00`, local;
 * - syslog `Nov 25 12:00:00` at the start of the line, in the current year (`cy`), or the year
 *   before when its month is after the current month (`cm`).
 * Stamps without a zone are host local time as they stand. Zoned stamps are moved to local time with
 * the host's current offset (`hz`, from `date +%z`): exact except across a DST change inside the
 * window, where they can be off by the DST step.
 */
export const AWK_TIME = raw`
function w_init() { ho = (substr(hz, 2, 2) * 60 + substr(hz, 4, 2)) * (substr(hz, 1, 1) == "-" ? -1 : 1) }
function w_days(y, m, d) {
  if (m <= 2) { y--; m += 12 }
  return 365 * y + int(y / 4) - int(y / 100) + int(y / 400) + int((153 * (m - 3) + 2) / 5) + d - 719469
}
function w_key(e,   s, z, era, doe, yoe, y, doy, mp, d, m) {
  s = e % 86400; if (s < 0) s += 86400
  z = (e - s) / 86400 + 719468
  era = int(z / 146097); doe = z - era * 146097
  yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
  y = yoe + era * 400; doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100))
  mp = int((5 * doy + 2) / 153); d = doy - int((153 * mp + 2) / 5) + 1
  m = mp < 10 ? mp + 3 : mp - 9; if (m <= 2) y++
  return sprintf("%04d%02d%02d%02d%02d%02d", y, m, d, int(s / 3600), int(s / 60) % 60, s % 60)
}
function w_mon(s,   i) { i = index("JanFebMarAprMayJunJulAugSepOctNovDec", s); return i % 3 == 1 ? (i + 2) / 3 : 0 }
function w_conv(y, mo, d, hh, mi, ss, z,   o) {
  y += 0; mo += 0; d += 0; hh += 0; mi += 0; ss += 0
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return ""
  if (z == "") return sprintf("%04d%02d%02d%02d%02d%02d", y, mo, d, hh, mi, ss)
  o = (substr(z, 2, 2) * 60 + substr(z, 4, 2)) * (substr(z, 1, 1) == "-" ? -1 : 1)
  return w_key(w_days(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss + (ho - o) * 60)
}
function w_ts(l,   p, q, d, r, z, y) {
  if (match(l, /^[A-Z][a-z][a-z] [ 0-9][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9]/) && w_mon(substr(l, 1, 3))) {
    y = cy; if (w_mon(substr(l, 1, 3)) > cm + 0) y--
    return w_conv(y, w_mon(substr(l, 1, 3)), substr(l, 5, 2), substr(l, 8, 2), substr(l, 11, 2), substr(l, 14, 2), "")
  }
  p = match(l, /[12][0-9][0-9][0-9][-\/][01][0-9][-\/][0-3][0-9][ T][0-2][0-9]:[0-5][0-9]:[0-6][0-9]/) ? RSTART : 0
  q = match(l, /[0-3][0-9]\/[A-Z][a-z][a-z]\/[12][0-9][0-9][0-9]:[0-2][0-9]:[0-5][0-9]:[0-6][0-9] [-+][0-2][0-9][0-5][0-9]/) && w_mon(substr(l, RSTART + 3, 3)) ? RSTART : 0
  d = match(l, /[0-3][0-9]-[A-Z][a-z][a-z]-[12][0-9][0-9][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9]/) && w_mon(substr(l, RSTART + 3, 3)) ? RSTART : 0
  if (q && (!p || q < p) && (!d || q < d))
    return w_conv(substr(l, q + 7, 4), w_mon(substr(l, q + 3, 3)), substr(l, q, 2), substr(l, q + 12, 2), substr(l, q + 15, 2), substr(l, q + 18, 2), substr(l, q + 21, 5))
  if (d && (!p || d < p))
    return w_conv(substr(l, d + 7, 4), w_mon(substr(l, d + 3, 3)), substr(l, d, 2), substr(l, d + 12, 2), substr(l, d + 15, 2), substr(l, d + 18, 2), "")
  if (!p) return ""
  r = substr(l, p + 19); sub(/^[.,][0-9]+/, "", r); z = ""
  if (r ~ /^Z/) z = "+0000"
  else if (r ~ /^[-+][0-2][0-9]:?[0-5][0-9]/) z = substr(r, 1, 3) substr(r, substr(r, 4, 1) == ":" ? 5 : 4, 2)
  else if (r ~ /^ [-+][0-2][0-9][0-5][0-9]\]/) z = substr(r, 2, 5)
  return w_conv(substr(l, p, 4), substr(l, p + 5, 2), substr(l, p + 8, 2), substr(l, p + 11, 2), substr(l, p + 14, 2), substr(l, p + 17, 2), z)
}
`;

/**
 * dmesg filter: keeps lines whose `[ seconds.micro]` uptime stamp is >= the window start in uptime
 * seconds (since - (now - up)); unstamped lines follow the fate of the stamped line before them (kept
 * when there is none). `now` has whole seconds and the printk clock may drift from wall time, so lines
 * up to `slack` seconds before the start are kept too; the facts decide what they belong to.
 * Keeps the last `cap` bytes (whole lines); `lt=1` on fd 4 when it dropped some.
 * Without /proc/uptime (`up` empty) every line is kept.
 */
export const AWK_DMESG = raw`
BEGIN { thr = up == "" ? -1 : since - (now - up) - slack; keep = 1; h = 0; n = 0; tot = 0 }
{ if (match($0, /\[ *[0-9]+\.[0-9]+\]/) && RSTART <= 24) keep = substr($0, RSTART + 1, RLENGTH - 2) + 0 >= thr }
!keep { next }
{ b[n++] = $0; tot += length($0) + 1; while (tot > cap + 0) { tot -= length(b[h]) + 1; delete b[h++]; cut = 1 } }
END { for (i = h; i < n; i++) print b[i]; if (cut) print "lt=1" | "cat >&4" }
`;

/**
 * Every section's stdout passes through this: the first `cap` bytes go on, and `n=BYTES t=0|1` goes
 * to fd 4. A last line without a newline gets one (and it is counted).
 */
export const AWK_COUNT = raw`
{ l = length($0) + 1
  if (n + l > cap + 0) { if (cap > n) printf "%s", substr($0, 1, cap - n); n = cap; t = 1; exit }
  print; n += l }
END { printf "n=%.0f t=%d\n", n, t | "cat >&4" }
`;

/**
 * No `set -e`: a failing section must not stop the others. No globbing, default word splitting (the
 * script splits its own lists). sbin directories are added because `ss`, `ip` and `nginx` live there
 * and a non-login SSH session's PATH often lacks them. fd 3 and fd 5 keep the script's stdout and
 * stderr while sections redirect theirs.
 */
export const SH_PRELUDE = raw`
set +e
set -f
unset IFS
PATH="$\{PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"
export PATH
exec 3>&1 5>&2
`;

/**
 * The section runner. `w_sec ID CAP TIMEOUT BODY ARGS...` frames the body's output with markers on
 * fd 3 (the script's stdout) and fd 5 (its stderr). The body's stdout goes through `head -c CAP+1`
 * (so awk never holds more than that) and AWK_COUNT to fd 3; its stderr through `head -c 65536` to
 * fd 5. The body reports `rc=N` on fd 4, which only the command substitution reads, together with
 * the counts; nothing is written to disk. The duration comes from /proc/uptime read by the shell's
 * own `read` (10 ms resolution, no process started).
 *
 * A command runs under `timeout -k 1 N` when the host has a timeout(1) that takes `-k` (GNU, busybox
 * 1.30+). timeout(1) moves itself into a process group of its own so that it can end the command's
 * children too; a watchdog that kills the script's process group therefore does not reach a running
 * command, which ends at its own timeout (at most N+1 s later).
 */
export const SH_CORE = raw`
w_cs() {
  w_c=
  [ -r /proc/uptime ] && read w_c w_x </proc/uptime
  case $w_c in *.[0-9][0-9]) w_c=$(($\{w_c%.*} * 100 + 1$\{w_c#*.} - 100)) ;; *) w_c= ;; esac
}
w_sec() {
  w_id=$1 w_cap=$2 w_tmo=$3
  shift 3
  printf '@@why502:%s begin %s\n' "$W_N" "$w_id" >&3
  printf '@@why502:%s begin %s\n' "$W_N" "$w_id" >&5
  w_cs
  w_c0=$w_c
  w_r=$( { { "$@" 2>&1 >&7 7>&- | head -c 65536 >&5; } 7>&1 | head -c $((w_cap + 1)) | LC_ALL=C awk -v cap="$w_cap" "$W_COUNT" >&3; } 4>&1 )
  w_cs
  w_ms=-
  [ -n "$w_c0" ] && [ -n "$w_c" ] && w_ms=$(( (w_c - w_c0) * 10 ))
  w_rc=- w_n=0 w_t=0 w_pb= w_pt=
  for w_kv in $w_r; do
    case $w_kv in
      rc=*) w_rc=$\{w_kv#rc=} ;; n=*) w_n=$\{w_kv#n=} ;; t=1|lt=1) w_t=1 ;; pb=*) w_pb=$\{w_kv#pb=} ;;
      pt=*) w_pt="$w_pt$\{w_pt:+,}$\{w_kv#pt=}" ;;
    esac
  done
  w_e="rc=$w_rc bytes=$w_n truncated=$w_t ms=$w_ms"
  [ -n "$w_pb" ] && w_e="$w_e probed=$w_pb"
  [ -n "$w_pt" ] && w_e="$w_e parts=$w_pt"
  case $w_tmo in -) ;; *) if [ -n "$W_TO" ]; then w_e="$w_e timeout=$w_tmo"; else w_e="$w_e timeout=none"; fi ;; esac
  printf '\n@@why502:%s end %s %s\n' "$W_N" "$w_id" "$w_e" >&3
  printf '\n@@why502:%s end %s %s\n' "$W_N" "$w_id" "$w_e" >&5
}
w_cmd() {
  if [ -n "$W_TO" ]; then
    timeout -k 1 "$1" sh -c "$2" </dev/null 3>&- 4>&- 5>&-
  else
    sh -c "$2" </dev/null 3>&- 4>&- 5>&-
  fi
  echo "rc=$?" >&4
}
`;

export const SH_CLOCK = raw`
w_clock() {
  w_d=$(date '+%s %N %z %Z')
  w_u=
  [ -r /proc/uptime ] && read w_u w_x </proc/uptime
  printf 'date=%s\nuptime=%s\n' "$w_d" "$w_u"
  printf 'localtime=%s\n' "$(readlink /etc/localtime 2>/dev/null)"
  w_z=
  [ -r /etc/timezone ] && read w_z </etc/timezone
  printf 'timezone=%s\ntzenv=%s\n' "$w_z" "$\{TZ-}"
  printf 'since=%s\n' "$W_SINCE"
  echo "rc=0" >&4
}
`;

export const SH_DMESG = raw`
w_dmesg() {
  w_u=
  [ -r /proc/uptime ] && read w_u w_x </proc/uptime
  w_now=$(date +%s)
  w_cmd "$1" "$3" | LC_ALL=C awk -v since="$W_SINCE" -v now="$w_now" -v up="$w_u" -v slack=2 -v cap="$2" "$W_DMESG"
}
`;
