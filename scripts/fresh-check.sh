#!/usr/bin/env bash
# Proves the README's set-up on a fresh Debian 12 machine: each of the README's set-up commands
# (the fenced block after the "fresh-check" marker in README.md), exactly as written, runs in its
# own clean Debian 12 root (mmdebstrap --variant=apt bookworm: apt and nothing else), on a
# `git clone` of the project with no ../shared beside it. Prints each command's exit status and
# time, and the demo's output. Exit status 0 only when every command exited 0.
#
# Usage: scripts/fresh-check.sh [--rev REV] [--without PACKAGE]... [--rebootstrap] [--keep]
#   --rev REV            the commit to check (default HEAD; uncommitted changes are not seen)
#   --without PACKAGE    drop PACKAGE from scripts/install-deps.sh in the clone first: shows that
#                        the check fails when the install script misses a package
#   --rebootstrap        make the cached Debian root anew (e.g. after a Debian point release)
#   --keep               keep the roots under the work folder for a look afterwards
# Run it as root (chroot and mounts), before resolving any change that touches dependencies or
# the set-up. Not part of CI: it builds everything twice from nothing, about 25 minutes on 2 cores.
#
# Environment: FRESH_CACHE (default /var/cache/zeroshot-fresh) keeps the bootstrapped root as a
# tarball and the downloaded .deb files (packages are downloaded once, never pre-installed: each
# root starts from the bare tarball); FRESH_WORK (default /var/tmp) holds the roots and the logs;
# FRESH_MIRROR: the apt mirror(s) to bootstrap from (mmdebstrap's MIRROR arguments; default
# Debian's own).
set -euo pipefail
cd "$(dirname "$0")/.."
project=$(pwd)

rev=HEAD
without=()
rebootstrap=0
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rev) rev=$2; shift 2 ;;
    --without) without+=("$2"); shift 2 ;;
    --rebootstrap) rebootstrap=1; shift ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "fresh-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "fresh-check: run as root (it uses chroot and mounts)" >&2; exit 2; }

cache=${FRESH_CACHE:-/var/cache/zeroshot-fresh}
tarball=$cache/bookworm-apt.tar
archives=$cache/archives
commit=$(git rev-parse --verify "$rev^{commit}")

# The set-up commands: the lines of the first fenced block after the marker, comments dropped.
mapfile -t commands < <(awk '/<!-- fresh-check/ {m = 1; next}
  m == 1 && /^```/ {m = 2; next}
  m == 2 && /^```/ {exit}
  m == 2 {sub(/[ \t]+#.*$/, ""); if ($0 !~ /^[ \t]*$/) print}' <(git show "$commit:README.md"))
[ ${#commands[@]} -gt 0 ] || { echo "fresh-check: no set-up commands after the fresh-check marker in README.md" >&2; exit 1; }

if [ ! -f "$tarball" ] || [ "$rebootstrap" = 1 ]; then
  if ! command -v mmdebstrap >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap
  fi
  mkdir -p "$cache"
  echo "== bootstrapping a Debian 12 root into $tarball"
  # No mirror given: mmdebstrap's default Debian mirror, plus bookworm-updates and the security
  # suite (it adds both for a stable release's name). FRESH_MIRROR overrides it (a local mirror).
  # shellcheck disable=SC2086
  mmdebstrap --variant=apt --mode=root --format=tar --quiet bookworm "$tarball.part" ${FRESH_MIRROR:-}
  mv "$tarball.part" "$tarball"
fi
mkdir -p "$archives/partial"

work=$(mktemp -d "${FRESH_WORK:-/var/tmp}/zeroshot-fresh.XXXXXX")
cleanup() { [ "$keep" = 1 ] || rm -rf "$work/root-"*; }
trap cleanup EXIT
echo "== fresh-check of $(git log -1 --format='%h %s' "$commit" | cut -c1-80)"
[ -z "$(git status --porcelain --untracked-files=no)" ] ||
  echo "   (uncommitted changes in $project are not part of the check: commit them first)"
echo "   work folder $work${without[*]:+, without: ${without[*]}}"

# prepare_root N: a new root from the tarball, with the project cloned into /root/zeroshot (and
# the --without packages dropped from its install script). Any failure here ends the check: it
# is the check that broke, not the set-up.
prepare_root() {
  local root="$work/root-$1" p
  mkdir -p "$root"
  tar -C "$root" -xf "$tarball"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # The host's network settings, like resolv.conf: npm's global config and the CA file it names,
  # where this network's TLS needs one. Machine configuration, not a project dependency.
  for p in /etc/npmrc /usr/etc/npmrc; do
    [ -f "$p" ] || continue
    mkdir -p "$root$(dirname "$p")" && cp "$p" "$root$p"
    ca=$(sed -n 's/^cafile=//p' "$p")
    if [ -n "$ca" ] && [ -f "$ca" ]; then mkdir -p "$root$(dirname "$ca")" && cp "$ca" "$root$ca"; fi
  done
  # The host's own CAs: installing ca-certificates in the root rebuilds the bundle above from
  # Debian's CAs plus these, so without them npm's TLS failed there (the browser test skipped).
  if [ -d /usr/local/share/ca-certificates ]; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp -r /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
  fi
  git clone --quiet --no-hardlinks "$project" "$root/root/zeroshot"
  git -C "$root/root/zeroshot" checkout --quiet "$commit"
  for p in "${without[@]}"; do
    grep -qw -- "$p" "$root/root/zeroshot/scripts/install-deps.sh" ||
      { echo "fresh-check: '$p' is not in scripts/install-deps.sh" >&2; exit 2; }
    sed -i -E "s/(^|[[:space:]])$p([[:space:]]|$)/\1\2/g" "$root/root/zeroshot/scripts/install-deps.sh"
  done
}

# run_in_root N COMMAND: COMMAND as a login shell of root would run it in /root/zeroshot, inside
# a private mount namespace (the mounts go away with it) and a clean environment.
run_in_root() {
  unshare --mount --propagation private bash -c '
    set -e
    root=$1 archives=$2 command=$3
    mount -t proc proc "$root/proc"
    mount --bind /sys "$root/sys"
    mount --bind /dev "$root/dev"
    mount -t devpts devpts "$root/dev/pts" -o newinstance,ptmxmode=0666 2>/dev/null || true
    mount -t tmpfs tmpfs "$root/dev/shm"
    mount --bind "$archives" "$root/var/cache/apt/archives"
    exec chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      /bin/bash -lc "cd /root/zeroshot && $command"' _ "$work/root-$1" "$archives" "$2"
}

results=()
status=0
for i in "${!commands[@]}"; do
  n=$((i + 1))
  log="$work/command-$n.log"
  echo "== [$n/${#commands[@]}] $ ${commands[$i]}   (log: $log)"
  start=$SECONDS
  rc=0
  prepare_root "$n"
  run_in_root "$n" "${commands[$i]}" >"$log" 2>&1 </dev/null || rc=$?
  took=$((SECONDS - start))
  results+=("$(printf '%-4s %6s s   exit %-3s  %s' "[$n]" "$took" "$rc" "${commands[$i]}")")
  echo "   exit $rc after $took s; the log's last lines:"
  tail -n 12 "$log" | sed 's/^/   | /'
  [ "$rc" = 0 ] || status=1
  [ "$keep" = 1 ] || rm -rf "$work/root-$n"
done

echo "== fresh-check summary ($(git log -1 --format=%h "$commit"), Debian $(tar -xOf "$tarball" ./etc/debian_version)${without[*]:+, without ${without[*]}})"
printf '%s\n' "${results[@]}"
[ "$status" = 0 ] && echo "fresh-check: PASS" || echo "fresh-check: FAIL"
exit "$status"
