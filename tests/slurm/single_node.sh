#!/usr/bin/env bash
# A throw-away single-node SLURM (munge + slurmctld + slurmd, no slurmdbd) for the
# cluster tests:  single_node.sh install | start | stop | status
# Needs root and Debian packages. Everything it writes lives under $SLURM_TEST_DIR
# except /etc/slurm/slurm.conf, which the SLURM commands inside jobs must find at
# its default place (the executor strips SLURM_* variables, SLURM_CONF included);
# an existing slurm.conf that this script did not write is never touched.
set -euo pipefail

DIR=${SLURM_TEST_DIR:-/tmp/siox_slurm}
CONF=/etc/slurm/slurm.conf
MARK="# written by siox-xanes tests/slurm/single_node.sh"

die() { echo "single_node.sh: $*" >&2; exit 1; }

install_packages() {
    [ "$(id -u)" = 0 ] || die "must run as root"
    # libpmix-dev: Debian's mpi/pmix plugin loads the unversioned libpmix.so, which only
    # the -dev package links; without it `srun` cannot start OpenMPI's pw.x ranks.
    if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
        || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null \
        || ! ldconfig -p | grep -q "libpmix.so "; then
        command -v apt-get >/dev/null || die "no apt-get: install slurmctld, slurmd, slurm-client, munge, libpmix-dev by hand"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge libpmix-dev >/dev/null
    fi
}

write_conf() {
    if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
        die "$CONF exists and was not written by this script: refusing to replace it"
    fi
    local cpus mem host
    cpus=$(nproc)
    # leave 2 GB to the system; slurmd drains a node that reports less than configured
    mem=$(( $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) - 2048 ))
    host=$(hostname -s)
    mkdir -p "$DIR"/{state,spool,log} /etc/slurm
    cat > "$CONF.tmp" <<CONF_EOF
$MARK
ClusterName=siox-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no cgroups in containers: plain process tracking, no task binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=pmix
# squeue is the status command (no slurmdbd): keep finished jobs visible for an hour
MinJobAge=3600
# a job past its time limit is killed at once (the retry test relies on it)
OverTimeLimit=0
KillWait=5
ReturnToService=2
SlurmdTimeout=60
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF_EOF
    mv "$CONF.tmp" "$CONF"
}

start() {
    [ "$(id -u)" = 0 ] || die "must run as root"
    install_packages
    write_conf
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    [ -s /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
    pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
    pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld -i
    pgrep -x slurmd >/dev/null || /usr/sbin/slurmd
    # wait until the node takes jobs
    for _ in $(seq 60); do
        if sinfo -h -o "%t" 2>/dev/null | grep -qE "^(idle|mix|alloc)"; then
            scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
            return 0
        fi
        sleep 1
    done
    sinfo -N -l >&2 || true
    tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
    die "the node did not become idle within 60 s"
}

stop() {
    scancel --user="$(id -un)" >/dev/null 2>&1 || true
    for d in slurmd slurmctld; do pkill -x "$d" 2>/dev/null || true; done
    pkill -x munged 2>/dev/null || true
    for _ in $(seq 20); do
        pgrep -x slurmd >/dev/null || pgrep -x slurmctld >/dev/null || break
        sleep 0.5
    done
    if [ -e "$CONF" ] && grep -qF "$MARK" "$CONF"; then rm -f "$CONF"; fi
}

case "${1:-}" in
    install) install_packages ;;
    start) start ;;
    stop) stop ;;
    status) sinfo -N -l ;;
    *) die "usage: single_node.sh install|start|stop|status" ;;
esac
