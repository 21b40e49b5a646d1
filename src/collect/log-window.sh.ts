import { raw } from "./window.sh.js";

// The log window of the collection script (see window.sh.ts for the conventions): the awk programs that
// search a time-ordered log by offset and keep the window of rotated files, and the shell that reads them.

/**
 * Probe: input is the file's bytes from offset `base` (`skip`=1 when `base` may be inside a line,
 * whose remainder is then ignored) up to `end`; `size` is where the data really ends, so a last line
 * cut off before `size` is ignored too. Prints `OFFSET KEY` of the first complete line whose key is
 * >= `k` (any stamped line when `k` is empty) and stops reading.
 */
export const AWK_PROBE = raw`
BEGIN { w_init(); k = k "" }
{ pos = base + used; used += length($0) + 1 }
skip && NR == 1 { next }
base + used > end + 0 && end + 0 < size + 0 { exit }
{ t = w_ts($0); if (t != "" && t >= k) { printf "%.0f %s\n", pos, t; exit } }
`;

/** First line start at or after offset `at`, reading from `base` (< `at`). */
export const AWK_BOUNDARY = raw`
{ pos = base + used; used += length($0) + 1; if (pos >= at + 0) { printf "%.0f\n", pos; exit } }
`;

/**
 * Rotated files that cannot be searched by offset (gzip): drops lines until the first stamped one
 * with key >= `k`, keeps everything from there, but only the last `cap` bytes (whole lines), and
 * reports `lt=1` on fd 4 when it dropped lines for the cap. With `pt` set, lines `@@why502:NONCE part
 * SUFFIX` name the file the lines after them come from (never sent; the first input line is one, which
 * tells the nonce, so that it is never on a command line), and `pt=SUFFIX:LINES` goes to fd 4 for each
 * file's run of lines sent, in order.
 */
export const AWK_KEEP = raw`
BEGIN { w_init(); k = k ""; h = 0; n = 0; tot = 0 }
pt && NR == 1 { pm = substr($0, 1, index($0, " part ") + 5) }
pt && index($0, pm) == 1 { src = substr($0, length(pm) + 1); next }
!f { t = w_ts($0); if (t == "" || t < k) next; f = 1 }
{ b[n] = $0; o[n++] = src; tot += length($0) + 1
  while (tot > cap + 0) { tot -= length(b[h]) + 1; delete b[h]; delete o[h]; h++; cut = 1 } }
END {
  for (i = h; i < n; i++) {
    print b[i]
    if (pt && i > h && o[i] != o[i - 1]) { printf "pt=%s:%.0f\n", o[i - 1], c | "cat >&4"; c = 0 }
    c++
  }
  if (pt && n > h) printf "pt=%s:%.0f\n", o[n - 1], c | "cat >&4"
  if (cut) print "lt=1" | "cat >&4"
}
`;

/**
 * Rotated names of logrotate's `dateext`: reads a directory listing on stdin and prints, for each name
 * `b` followed by a date (`-%Y%m%d`, `-%Y%m%d%H`, `-%Y-%m-%d`, `-%Y%m%d-%s`: digits and dashes whose
 * first eight digits are a date), optionally `.gz`, `KEY PLAIN SUFFIX`: the digits padded to a fixed
 * width (so that `sort -r` puts the newest first), 1 for a plain file (preferred over its `.gz` twin
 * while logrotate compresses it), and the suffix to append to the log's path. These come before the
 * numbered `.1`, `.2` ...: a host that turned `dateext` on keeps its older numbered files.
 */
export const AWK_DATED = raw`
index($0, b) == 1 {
  s = substr($0, length(b) + 1); g = sub(/\.gz$/, "", s)
  if (s !~ /^[0-9][0-9-]*$/) next
  d = s; gsub(/-/, "", d)
  if (length(d) < 8 || length(d) > 24) next
  y = substr(d, 1, 4) + 0; m = substr(d, 5, 2) + 0; n = substr(d, 7, 2) + 0
  if (y < 1970 || y > 2999 || m < 1 || m > 12 || n < 1 || n > 31) next
  while (length(d) < 24) d = d "0"
  printf "%s %d -%s%s\n", d, g ? 0 : 1, s, g ? ".gz" : ""
}
`;

/**
 * Log window. The log is in time order, so the first line at or after the window start is found by a
 * binary search over 8 KiB blocks: each probe is one `dd ... skip=BLOCK` (a seek on a regular file,
 * in GNU and busybox dd alike) piped into AWK_PROBE, about 17 probes for 1 GB. A probe whose block
 * holds no complete stamped line (a long stack trace) is retried over up to 1 MiB. The last probe
 * interval is scanned exactly. Output is the window from that line to the end of the file as it was
 * when the section began; when it is larger than the cap only its last CAP bytes are sent, starting
 * at a line start.
 *
 * With rotation, when the file's first stamp is at or after the window start (or it has none yet,
 * just rotated) the rotated files are read too, newest first, until one starts before the window:
 * logrotate's `dateext` names (`PATH-20261125`, `PATH-2026112513`, `PATH-2026-11-25`, each maybe
 * `.gz`), newest date first, then `PATH.1`, `PATH.2` ... (see AWK_DATED for the order). Plain files are
 * searched the same way; a `.gz` is decompressed through AWK_KEEP, which cannot seek, and so is every
 * file older than it. At most 30 rotated files are looked at. The cap is shared, newest bytes first;
 * output goes oldest first.
 *
 * Each file is opened once, on fd 6 (`w_lv ... 6<FILE`: the shell keeps the outer file's fd 6 aside while a
 * rotated file's level runs), and its size, search and read all go through /proc/self/fd/6: the same file,
 * with an offset of its own per opening, so `dd skip=` still seeks from its start. A rotation in between
 * (the log renamed to `.1`, a new empty file in its place) cannot swap the file under the read: the old one
 * is read to its end. A rotated name whose file was read already (the live log renamed meanwhile) is
 * skipped, by inode. Without /proc the name is used, as before.
 *
 * The end marker says `probed=BYTES`: at most how many bytes the searches read (blocks asked of dd), and
 * `parts=SUFFIX:LINES,...`: which file the lines sent came from, oldest first (`@` the log itself, else the
 * suffix of its rotated name, `.1`, `-20261125.gz`), so that evidence names the file it was read from.
 */
export const SH_LOG = raw`
w_stat() {
  set -- $(ls -Lnid "$1" 2>/dev/null)
  w_i=$\{1:-} w_s=$\{6:-0}
}
w_probe() {
  w_end=$(( ($3 + $4) * 8192 ))
  [ "$w_end" -gt "$2" ] && w_end=$2
  dd if="$1" bs=8192 skip="$3" count="$4" 2>/dev/null |
    LC_ALL=C awk -v base=$(($3 * 8192)) -v skip=$(($3 > 0)) -v end="$w_end" -v size="$2" -v k="$5" \
      -v hz="$W_Z" -v cy="$W_CY" -v cm="$W_CM" "$W_TIME$W_PROBE"
}
w_find() {
  w_a=0 w_fk=
  [ "$2" -gt 0 ] || return 0
  w_p=$(w_probe "$1" "$2" 0 1 "")
  w_pb=$((w_pb + 1))
  if [ -z "$w_p" ] && [ "$2" -gt 8192 ]; then
    w_p=$(w_probe "$1" "$2" 0 128 "")
    w_pb=$((w_pb + 128))
  fi
  if [ -z "$w_p" ]; then
    w_fk=none
    echo "why502: $3: no timestamp recognised in its first MiB; sending the end of the file" >&2
    return 0
  fi
  w_fk=$\{w_p#* }
  if [ "$w_fk" -ge "$W_SK" ]; then w_a=$\{w_p%% *}; return 0; fi
  w_lo=0 w_hi=$(( ($2 + 8191) / 8192 )) w_hl=$2
  while [ $((w_hi - w_lo)) -gt 1 ]; do
    w_m=$(( (w_lo + w_hi) / 2 ))
    w_p=$(w_probe "$1" "$2" "$w_m" 1 "")
    w_pb=$((w_pb + 1))
    if [ -z "$w_p" ]; then
      w_n=$((w_hi - w_m + 1))
      [ "$w_n" -gt 128 ] && w_n=128
      w_p=$(w_probe "$1" "$2" "$w_m" "$w_n" "")
      w_pb=$((w_pb + w_n))
    fi
    if [ -z "$w_p" ]; then w_hi=$w_m
    elif [ "$\{w_p#* }" -lt "$W_SK" ]; then w_lo=$w_m
    else w_hi=$w_m w_hl=$\{w_p%% *}
    fi
  done
  w_n=$(( (w_hl - w_lo * 8192) / 8192 + 1 ))
  w_p=$(w_probe "$1" "$w_hl" "$w_lo" "$w_n" "$W_SK")
  w_pb=$((w_pb + w_n))
  w_a=$w_hl
  [ -n "$w_p" ] && w_a=$\{w_p%% *}
  return 0
}
w_bound() {
  w_bb=$(( ($2 - 1) / 8192 ))
  w_p=$(dd if="$1" bs=8192 skip="$w_bb" count=128 2>/dev/null |
    LC_ALL=C awk -v base=$((w_bb * 8192)) -v at="$2" "$W_BOUNDARY")
  echo "$\{w_p:-$2}"
}
w_emit() {
  [ "$3" -gt 0 ] || return 0
  dd if="$1" bs=8192 skip=$(($2 / 8192)) 2>/dev/null | tail -c +$(($2 % 8192 + 1)) | head -c "$3"
}
w_logwin() {
  W_PT=1
  w_log "$@"
  echo "rc=$?" >&4
}
w_part() {
  w_ps=$1
  shift
  if [ -n "$W_PT" ]; then
    "$@" | LC_ALL=C awk -v s="$w_ps" '{ print } END { if (NR) printf "pt=%s:%.0f\n", s, NR | "cat >&4" }'
  else
    "$@"
  fi
}
w_log() {
  if [ -d "$1" ]; then echo "why502: $1: Is a directory" >&2; return 2; fi
  if [ ! -e "$1" ]; then
    w_d=$1
    while [ -n "$w_d" ] && [ ! -e "$w_d" ]; do w_d=$\{w_d%/*}; done
    if [ -n "$w_d" ] && [ ! -x "$w_d" ]; then echo "why502: $1: Permission denied" >&2; return 1; fi
    echo "why502: $1: No such file or directory" >&2
    return 2
  fi
  if [ ! -r "$1" ]; then echo "why502: $1: Permission denied" >&2; return 1; fi
  w_b=$2 w_lt=0 w_pb=0 w_in= w_rest=
  w_lv "$1" @ "$3" 6<"$1"
  [ "$w_lt" -eq 1 ] && echo "lt=1" >&4
  echo "pb=$((w_pb * 8192))" >&4
  return 0
}
w_rot() {
  {
    ls -1 "$\{1%/*}/" 2>/dev/null | LC_ALL=C awk -v b="$\{1##*/}-" "$W_DATED" | LC_ALL=C sort -r |
      LC_ALL=C awk '!s[$1]++ { print $3 }'
    w_ri=1
    while [ "$w_ri" -le 30 ]; do
      if [ -f "$1.$w_ri" ]; then echo ".$w_ri"
      elif [ -f "$1.$w_ri.gz" ]; then echo ".$w_ri.gz"
      else break
      fi
      w_ri=$((w_ri + 1))
    done
  } | head -n 30
}
w_fd() {
  w_f=/proc/self/fd/6
  [ -r "$w_f" ] || w_f=$1
  w_stat "$w_f"
  [ -n "$w_i" ] || return 1
  case $w_in in *" $w_i "*) return 0 ;; esac
  w_in="$w_in $w_i "
  return 1
}
w_more() {
  [ "$1" -eq 1 ] && [ "$w_lt" -eq 0 ] || return 1
  case $w_fk in none) return 1 ;; '') ;; *) [ "$w_fk" -ge "$W_SK" ] || return 1 ;; esac
  return 0
}
w_pop() {
  while [ -n "$w_rest" ]; do
    w_sf=$\{w_rest%% *}
    case $w_rest in *" "*) w_rest=$\{w_rest#* } ;; *) w_rest= ;; esac
    [ "$1" -eq 1 ] && [ "$w_b" -le 0 ] && { w_lt=1; return 1; }
    [ -f "$2$w_sf" ] || continue
    [ -r "$2$w_sf" ] && return 0
    echo "why502: $2$w_sf: Permission denied" >&2
    return 1
  done
  return 1
}
w_lv() {
  if [ "$2" = @ ]; then w_g=$1; else w_g=$1$2; fi
  if w_fd "$w_g"; then w_next "$1" "$3"; return 0; fi
  w_find "$w_f" "$w_s" "$w_g"
  if [ $((w_s - w_a)) -gt "$w_b" ]; then w_a=$(w_bound "$w_f" $((w_s - w_b))); w_lt=1; fi
  w_b=$((w_b - (w_s - w_a)))
  set -- "$1" "$2" "$3" "$w_f" "$w_a" $((w_s - w_a))
  if w_more "$3"; then
    [ "$2" = @ ] && w_rest=$(echo $(w_rot "$1"))
    w_next "$1" "$3"
  fi
  w_part "$2" w_emit "$4" "$5" "$6"
}
w_next() {
  w_pop 1 "$1" || return 0
  case $w_sf in
    *.gz) w_gzl "$1" "$w_sf" "$2" 6<"$1$w_sf" | LC_ALL=C awk -v k="$W_SK" -v cap="$w_b" \
      -v pt="$W_PT" -v hz="$W_Z" -v cy="$W_CY" -v cm="$W_CM" "$W_TIME$W_KEEP" ;;
    *) w_lv "$1" "$w_sf" "$2" 6<"$1$w_sf" ;;
  esac
}
w_gzl() {
  if w_fd "$1$2"; then w_gznext "$1" "$3"; return 0; fi
  case $2 in
    *.gz) w_p=$(gzip -dc "$w_f" 2>/dev/null | head -c 1048576 | LC_ALL=C awk -v base=0 -v skip=0 -v end=1 -v size=1 \
        -v k= -v hz="$W_Z" -v cy="$W_CY" -v cm="$W_CM" "$W_TIME$W_PROBE") ;;
    *) w_p=$(w_probe "$w_f" "$w_s" 0 128 "") ;;
  esac
  w_fk=$\{w_p#* }
  set -- "$1" "$2" "$3" "$w_f"
  w_more "$3" && w_gznext "$1" "$3"
  [ -n "$W_PT" ] && printf '@@why502:%s part %s\n' "$W_N" "$2"
  case $2 in *.gz) gzip -dc "$4" ;; *) cat "$4" ;; esac
}
w_gznext() {
  w_pop 0 "$1" || return 0
  w_gzl "$1" "$w_sf" "$2" 6<"$1$w_sf"
}
`;

/** Globals the log window needs: the host's year, month and UTC offset, and the window start's key. */
export const SH_LOG_INIT = raw`
set -- $(date '+%Y %m %z')
W_CY=$1 W_CM=$2 W_Z=$3
W_SK=$(date -d "@$W_SINCE" +%Y%m%d%H%M%S 2>/dev/null)
case $W_SK in
  [12][0-9][0-9][0-9][01][0-9][0-3][0-9][0-2][0-9][0-5][0-9][0-6][0-9]) ;;
  *) W_SK=$(LC_ALL=C awk -v since="$W_SINCE" -v hz="$W_Z" "$W_TIME"'BEGIN { w_init(); print w_key(since + ho * 60) }') ;;
esac
`;
