#!/usr/bin/env bash
# Proves deploy/slurm/classify.sbatch on a real, single-node Slurm set up on this machine: installs
# Debian 12's slurm-wlm and munge (apt-get --no-install-recommends), writes a minimal slurm.conf in
# a temporary folder (one node, this hostname, CPUs=2, select/cons_tres, proctrack/linuxproc,
# task/none, no cgroups, no accounting; its own ports), starts munged (if none runs), slurmctld and
# slurmd, submits the job array (4 tasks) over the fixture images and waits (5 minutes at most).
# Then checks that the 4 merged outputs hold each image exactly once with results identical to one
# unsharded run. The daemons it started are stopped and the folder removed on every exit.
#
# Usage (as root, after building): scripts/slurm-check.sh [BUILD_DIR]   (default: build)
# On demand, not in CI: it installs packages and starts system daemons.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
zeroshot=$build/zeroshot
[ -x "$zeroshot" ] || { echo "slurm-check: $zeroshot not found; build first" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "slurm-check: run as root (it installs packages and starts daemons)" >&2; exit 2; }
start_time=$(date +%s)

echo "== installing slurm-wlm and munge"
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge >/dev/null
fi

work=$(mktemp -d /tmp/zs-slurm-check.XXXXXX)
chmod 755 "$work"
started_munged=""
cleanup() {
  set +e
  [ -n "${job:-}" ] && scancel "$job" 2>/dev/null
  for pidfile in "$work/slurmd.pid" "$work/slurmctld.pid"; do
    if [ -s "$pidfile" ]; then
      pid=$(cat "$pidfile")
      kill "$pid" 2>/dev/null
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null
    fi
  done
  if [ -n "$started_munged" ]; then kill "$started_munged" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== starting munged"
if munge -n >/dev/null 2>&1; then
  echo "munged already running; using it"
else
  mkdir -p /run/munge && chown munge:munge /run/munge
  runuser -u munge -- /usr/sbin/munged
  started_munged=$(cat /run/munge/munged.pid)
fi
munge -n | unmunge >/dev/null

host=$(hostname -s)
export SLURM_CONF=$work/slurm.conf
mkdir -p "$work/state" "$work/spool" "$work/out"
cat >"$SLURM_CONF" <<CONF
ClusterName=zscheck
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
NodeName=$host CPUs=2 State=UNKNOWN
PartitionName=check Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

echo "== starting slurmctld and slurmd ($SLURM_CONF)"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 60); do
  state=$(sinfo -h -N -o '%t' 2>/dev/null | head -1 || true)
  case $state in idle | mix | alloc) break ;; esac
  sleep 1
done
sinfo -N
case $state in idle | mix | alloc) ;; *)
  echo "slurm-check: the node did not come up (state '$state')" >&2
  tail -20 "$work/slurmctld.log" "$work/slurmd.log" >&2
  exit 1 ;;
esac

images=$root/tests/fixtures/images
labels=$work/labels.txt
printf '%s\n' "a dog" "a cat" "a sports car" "a diagram" >"$labels"
repo=$root/tests/fixtures/models/tiny-clip

echo "== sbatch --array=0-3 deploy/slurm/classify.sbatch"
# --batch 1: each image's scores do not depend on which images share its batch, so the sharded
# and unsharded results can be compared byte for byte.
settings="ALL,ZEROSHOT=$zeroshot,ZS_INPUT=$images,ZS_LABELS=$labels,ZS_OUT=$work/out"
settings+=",ZS_REPO=$repo,ZS_ARGS=--batch 1"
job=$(cd "$work" && sbatch --parsable --array=0-3 --cpus-per-task=1 --export="$settings" \
  "$root/deploy/slurm/classify.sbatch")
echo "job $job submitted"
# Requeue task 0 once it has written a result (while it runs, or after it finished): Slurm
# restarts it and --resume must neither lose nor repeat an image.
deadline=$(($(date +%s) + 120))
until [ -s "$work/out/part-0-of-4.jsonl" ] || [ "$(date +%s)" -gt "$deadline" ]; do sleep 0.2; done
scontrol requeue "${job}_0"
echo "requeued task 0 after $(wc -l <"$work/out/part-0-of-4.jsonl") result line(s)"
# Slurm holds a requeued job for 2 minutes (Reason=BeginTime); once it is pending, start it now.
for _ in $(seq 100); do
  if grep -q '^PENDING BeginTime' <<<"$(squeue -h -j "${job}_0" -o '%T %r' 2>/dev/null)"; then
    scontrol update JobId="${job}_0" StartTime=now && break
  fi
  sleep 0.2
done
deadline=$(($(date +%s) + 300))
# (squeue's output is captured whole: `squeue | grep -q` under pipefail fails when squeue gets
# SIGPIPE.)
while [ -n "$(squeue -h -j "$job" 2>/dev/null)" ]; do
  if [ "$(date +%s)" -gt "$deadline" ]; then
    echo "slurm-check: job $job still running after 5 minutes" >&2
    squeue -j "$job" >&2
    exit 1
  fi
  sleep 2
done
echo "job $job done"
for log in "$work"/zeroshot-classify-*.log; do
  echo "-- $(basename "$log")"; cat "$log"
done
ls -l "$work/out"
# Each array task's exit code (kept by slurmctld for MinJobAge, 300 s).
codes=$(scontrol show job -o "$job" | grep -o 'JobId=[0-9]* ArrayJobId=[0-9]* ArrayTaskId=[0-9]*\|ExitCode=[0-9:]*' | paste -d' ' - -)
echo "$codes"
if [ "$(grep -c 'ExitCode=0:0' <<<"$codes")" != 4 ]; then
  echo "slurm-check: FAILED: not every array task exited 0" >&2
  exit 1
fi

echo "== checking the merged output against one unsharded run"
"$zeroshot" classify --repo "$repo" --labels-file "$labels" --batch 1 --threads 1 -q \
  --output "$work/unsharded.jsonl" "$images"
parts=("$work"/out/part-*-of-4.jsonl)
[ "${#parts[@]}" = 4 ] || { echo "slurm-check: expected 4 part files, found ${#parts[@]}" >&2; exit 1; }
cat "${parts[@]}" | LC_ALL=C sort >"$work/merged.sorted"
LC_ALL=C sort "$work/unsharded.jsonl" >"$work/unsharded.sorted"
n_images=$(find "$images" -maxdepth 1 -type f ! -name '*.json' | wc -l)
n_merged=$(wc -l <"$work/merged.sorted")
n_unique=$(cut -d, -f1 "$work/merged.sorted" | sort -u | wc -l)
for part in "${parts[@]}"; do echo "$(basename "$part"): $(wc -l <"$part") images"; done
echo "images in the folder: $n_images; lines merged: $n_merged; distinct images: $n_unique"
if [ "$n_merged" != "$n_images" ] || [ "$n_unique" != "$n_images" ]; then
  echo "slurm-check: FAILED: each image should be in the merged output exactly once" >&2
  exit 1
fi
if ! cmp -s "$work/merged.sorted" "$work/unsharded.sorted"; then
  echo "slurm-check: FAILED: merged shards differ from the unsharded run:" >&2
  diff "$work/merged.sorted" "$work/unsharded.sorted" | head -20 >&2
  exit 1
fi
echo "slurm-check: OK: 4 shards, $n_merged images, each exactly once, identical to the unsharded run ($(($(date +%s) - start_time)) s)"
