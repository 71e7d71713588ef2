"""A throwaway one-node SLURM cluster on loopback, for the opt-in test tests/test_slurm.py.

Debian's `slurm-wlm` (22.05) and `munge`, installed with apt-get when missing (root only). The cluster:
- munge: the host's munged when one answers on the default socket, else one started here (own key,
  default socket /run/munge/munge.socket.2, since slurmd must authenticate before it has a config);
- slurmctld on 127.0.0.1 with a private slurm.conf under a temporary folder (SLURM_CONF for clients);
- slurmd in *configless* mode (`--conf-server`): it fetches the config from slurmctld and links it at
  /run/slurm/conf, where `srun` looks when SLURM_CONF is unset. That matters because
  snakemake-executor-plugin-slurm-jobstep removes every SLURM_* variable (SLURM_CONF included)
  before it runs `srun` inside a job: a private config path would not reach the job step.
- no accounting (accounting_storage/none, jobacct_gather/none): `sacct` fails, so Snakemake's SLURM
  executor is told to query job states with `squeue` (jobs stay visible for MinJobAge=300 s);
- one stand-in GPU (`Gres=gpu:1`, gres.conf `File=/dev/null`) so that the GPU profile's
  `--gres=gpu:1` requests are accepted and run (on the CPU: there is no CUDA behind it).

Every wait is bounded; `stop()` cancels remaining jobs, stops the daemons it started (by their own
process ids) and removes the /run/slurm/conf link it created.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BINARIES = ["munged", "munge", "unmunge", "slurmctld", "slurmd", "sbatch", "srun", "squeue", "sinfo", "scontrol",
            "scancel"]
PACKAGES = ["slurm-wlm", "munge"]
MUNGE_SOCKET = Path("/run/munge/munge.socket.2")
CONFIGLESS_LINK = Path("/run/slurm/conf")
HOST_CONF = Path("/etc/slurm/slurm.conf")
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])


class Unsuitable(RuntimeError):
    """This host cannot run the throwaway cluster (the test skips with this reason)."""


def which(name: str) -> str | None:
    return shutil.which(name, path=SEARCH_PATH)


def ensure_installed(timeout: int = 900) -> None:
    """apt-get install slurm-wlm and munge when any binary is missing; `apt-get update` first on failure."""
    if all(which(b) for b in BINARIES):
        return
    if os.geteuid() != 0:
        raise Unsuitable(f"SLURM/munge are not installed ({', '.join(b for b in BINARIES if not which(b))} "
                         "missing) and installing them needs root")
    if not which("apt-get"):
        raise Unsuitable("SLURM/munge are not installed and there is no apt-get to install them")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    deadline = time.monotonic() + timeout
    result = subprocess.run(install, check=False, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=False, env=env, capture_output=True, text=True,
                       timeout=max(60, deadline - time.monotonic()))
        result = subprocess.run(install, check=False, env=env, capture_output=True, text=True,
                                timeout=max(60, deadline - time.monotonic()))
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(install)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                           f"{result.stderr[-3000:]}")
    missing = [b for b in BINARIES if not which(b)]
    if missing:
        raise RuntimeError(f"installed {PACKAGES} but still missing: {missing}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mem_total_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


def wait_for(what: str, check, timeout: float, interval: float = 0.5, log: Path | None = None):
    """Poll `check()` until it returns something truthy; fail with `what` (and a log tail) after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}\n{tail}")
        time.sleep(interval)


class SlurmCluster:
    """One node (this host, `hostname -s`) and one partition `debug`, all on 127.0.0.1."""

    def __init__(self, root: Path | None = None, cpus: int = 2):
        self.node = socket.gethostname().split(".")[0]
        self.cpus = max(1, min(cpus, os.cpu_count() or 1))
        total = mem_total_mb()
        self.real_memory_mb = total - max(512, total // 10)  # margin: slurmd drains a node claiming more than it has
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="augaudit-slurm-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.conf = self.root / "slurm.conf"
        self.ctld_port, self.slurmd_port = free_port(), free_port()
        self._procs: list[tuple[str, subprocess.Popen]] = []
        self._made_link = False
        self._made_dirs: list[Path] = []

    # -- environment for clients (sbatch, squeue, ... and snakemake itself)
    def env(self, base: dict | None = None) -> dict:
        env = dict(os.environ if base is None else base)
        env["SLURM_CONF"] = str(self.conf)
        env["PATH"] = os.pathsep.join([env.get("PATH", ""), "/usr/sbin", "/sbin"])
        return env

    def run(self, *cmd: str, timeout: int = 30, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(list(cmd), check=False, env=self.env(), capture_output=True, text=True,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}): {result.stderr.strip()}")
        return result

    def _daemon(self, name: str, cmd: list[str]) -> subprocess.Popen:
        with open(self.root / f"{name}.out", "w") as log:
            proc = subprocess.Popen(cmd, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self._procs.append((name, proc))
        return proc

    def _alive(self, name: str, proc: subprocess.Popen) -> None:
        if proc.poll() is not None:
            out = (self.root / f"{name}.out").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{name} exited ({proc.returncode}):\n{out}")

    # -- start
    def start(self) -> None:
        if os.geteuid() != 0:
            raise Unsuitable("running slurmd needs root")
        if HOST_CONF.exists():
            raise Unsuitable(f"{HOST_CONF} exists: this host belongs to a SLURM cluster, and job steps would read "
                             "that config instead of the test cluster's")
        if CONFIGLESS_LINK.is_symlink() or CONFIGLESS_LINK.exists():
            if CONFIGLESS_LINK.exists():
                raise Unsuitable(f"{CONFIGLESS_LINK} exists: another configless slurmd runs on this host")
            CONFIGLESS_LINK.unlink()  # stale link of an earlier run whose folder is gone
        self._start_munge()
        self._write_conf()
        ctld = self._daemon("slurmctld", [which("slurmctld"), "-D", "-c", "-f", str(self.conf)])
        wait_for("slurmctld to answer `scontrol ping`",
                 lambda: self._alive("slurmctld", ctld) or "UP" in self.run("scontrol", "ping", check=False).stdout,
                 timeout=60, log=self.root / "slurmctld.log")
        if not CONFIGLESS_LINK.parent.exists():
            self._made_dirs.append(CONFIGLESS_LINK.parent)  # slurmd makes it
        slurmd = self._daemon("slurmd", [which("slurmd"), "-D", "--conf-server", f"127.0.0.1:{self.ctld_port}"])
        self._made_link = True

        def idle():
            self._alive("slurmd", slurmd)
            raw = self.node_state(raw=True)
            state = raw.rstrip("*~#")
            if state.startswith(("drain", "inval")) or (state == "down" and not raw.endswith("*")):
                reason = self.run("sinfo", "-h", "-N", "-n", self.node, "-o", "%E", check=False).stdout.strip()
                raise RuntimeError(f"node {self.node} is {state}: {reason}\n{self.logs()}")
            return state == "idle"

        wait_for(f"node {self.node} to be idle in `sinfo`", idle, timeout=90, log=self.root / "slurmd.out")
        wait_for(f"{CONFIGLESS_LINK}/slurm.conf (configless slurmd)", (CONFIGLESS_LINK / "slurm.conf").exists,
                 timeout=30)

    def _start_munge(self) -> None:
        if self._munge_ok():
            return  # the host's munged: every daemon and client here shares it
        key = self.root / "munge" / "munge.key"
        key.parent.mkdir(mode=0o700)
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        if not MUNGE_SOCKET.parent.exists():
            MUNGE_SOCKET.parent.mkdir(mode=0o755, parents=True)
            self._made_dirs.append(MUNGE_SOCKET.parent)
        proc = self._daemon("munged", [which("munged"), "-F", f"--key-file={key}",
                                       f"--pid-file={key.parent / 'munged.pid'}",
                                       f"--log-file={key.parent / 'munged.log'}",
                                       f"--seed-file={key.parent / 'munged.seed'}"])

        def ok():
            self._alive("munged", proc)
            return self._munge_ok()

        wait_for("munged to answer on its socket", ok, timeout=30, log=self.root / "munged.out")

    @staticmethod
    def _munge_ok() -> bool:
        """A credential round trip through the default munge socket."""
        return subprocess.run(f"{which('munge')} -n | {which('unmunge')}", shell=True, check=False,
                              capture_output=True, timeout=20).returncode == 0

    def _write_conf(self) -> None:
        # one stand-in GPU (no device behind it), so that jobs asking for --gres=gpu:1 can run: SLURM sets
        # CUDA_VISIBLE_DEVICES=0, torch finds no CUDA and `device: auto` runs them on the CPU
        (self.root / "gres.conf").write_text(f"NodeName={self.node} Name=gpu File=/dev/null Count=1\n")
        for d in ("state", "spool"):
            (self.root / d).mkdir()
        r = self.root
        self.conf.write_text(f"""\
# written by tests/slurm_cluster.py: a throwaway one-node cluster on loopback
ClusterName=augaudit
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={self.ctld_port}
SlurmdPort={self.slurmd_port}
SlurmctldParameters=enable_configless
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/slurmctld.log
SlurmdLogFile={r}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=300
KillWait=5
InactiveLimit=0
SlurmdTimeout=60
GresTypes=gpu
NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.real_memory_mb} Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""")

    def node_state(self, raw: bool = False) -> str:
        """The node's state in `sinfo` (`raw`: with its suffix, `*` = not responding)."""
        out = self.run("sinfo", "-h", "-N", "-n", self.node, "-o", "%T", check=False).stdout.strip()
        state = out.splitlines()[0] if out else ""
        return state if raw else state.rstrip("*~#")

    # -- stop
    def stop(self) -> None:
        """Cancel remaining jobs, stop the daemons started here (newest first), remove what they left."""
        if any(name == "slurmctld" and proc.poll() is None for name, proc in self._procs):
            try:  # this cluster's jobs only: the clients read its SLURM_CONF
                self.run("scancel", "--user", str(os.getuid()), check=False)
                wait_for("jobs to leave the queue",
                         lambda: not self.run("squeue", "-h", "-t", "PENDING,RUNNING,COMPLETING", check=False)
                         .stdout.strip(), timeout=30)
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        for _, proc in reversed(self._procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        self._procs.clear()
        if self._made_link and CONFIGLESS_LINK.is_symlink() and str(self.root) in os.readlink(CONFIGLESS_LINK):
            CONFIGLESS_LINK.unlink()
        self._made_link = False
        for d in self._made_dirs:
            with contextlib.suppress(OSError):
                d.rmdir()  # only when empty
        self._made_dirs.clear()

    def logs(self) -> str:
        """The tails of the daemon logs, for failure messages."""
        parts = []
        for name in ("slurmctld.log", "slurmd.log", "munged.out"):
            path = self.root / name
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')[-2000:]}")
        return "\n".join(parts)
