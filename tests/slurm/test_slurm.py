"""The tiny DAG through profiles/slurm on a real one-node SLURM cluster running on this machine.

The test uses a cluster that is already up; it never starts one itself, so a
plain ``make test`` installs nothing and changes no system file. Bring one up
with ``bash tests/slurm/cluster_up.sh`` (root: it installs Debian's SLURM
packages with apt and writes ``/etc/slurm``), as ``.ci/run`` does. Without a
cluster the test is skipped with the reason, unless ``WSSS_REQUIRE_SLURM=1``
(set by CI), which turns that into a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
import yaml
from workflow_helpers import REPO, SNAKEMAKE, TINY, compare_runs, job_counts, merge, write_config

PROFILE = REPO / "profiles" / "slurm" / "config.yaml"
JOBCOMP_LOG = Path("/var/log/slurm/jobcomp.log")
LOCAL_RULES = {"all", "gather_validation", "gather_saliency", "gather_cams", "gather_initial_labels", "gather_refined_labels", "gather_crf"}
GPU_RULES = {"train_classifier", "dump_cams", "train_joint", "predict_train", "predict", "retrain"}
TIMEOUT_S = 1500


def _unavailable(reason: str) -> None:
    if os.environ.get("WSSS_REQUIRE_SLURM") == "1":
        pytest.fail(f"WSSS_REQUIRE_SLURM=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def slurm_cluster() -> Iterator[None]:
    if os.geteuid() != 0:
        _unavailable("the SLURM test starts slurmctld/slurmd/munged and must run as root")
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        _unavailable("snakemake-executor-plugin-slurm is not installed")
    up = shutil.which("scontrol") is not None and "UP" in subprocess.run(
        ["scontrol", "ping"], capture_output=True, text=True, check=False
    ).stdout
    if not up:
        _unavailable(
            "no SLURM cluster is up: start the one-node test cluster with `bash tests/slurm/cluster_up.sh` "
            "(root; it installs SLURM with apt and writes /etc/slurm), as .ci/run does"
        )
    partitions = set(subprocess.run(["sinfo", "-h", "-o", "%R"], capture_output=True, text=True, check=False).stdout.split())
    wanted = set(_partitions().values())
    if not wanted <= partitions:
        _unavailable(f"the cluster has partitions {sorted(partitions)}, the profile needs {sorted(wanted)} (cluster_up.sh makes them)")
    yield


def _partitions() -> dict[str, str]:
    """The partitions of profiles/slurm: {"cpu": default partition, "gpu": the GPU rules' partition}."""
    profile = yaml.safe_load(PROFILE.read_text())
    return {"cpu": profile["default-resources"]["slurm_partition"], "gpu": profile["set-resources"]["train_classifier"]["slurm_partition"]}


def _test_profile(directory: Path) -> Path:
    """profiles/slurm as shipped, with what the one-node test cluster needs.

    No accounting daemon: job status from squeue (the cluster's MinJobAge keeps
    finished jobs listed), first status check after 1 s (the plugin adds 10 s
    per round without a finished job, from 1 s again after one finishes: the
    tiny jobs take seconds). Memory requests shrunk to fit one small node.
    """
    profile = yaml.safe_load(PROFILE.read_text())
    profile["default-resources"]["mem_mb"] = 1000
    profile["set-resources"] = {rule: {**resources, "mem_mb": 2000} for rule, resources in profile["set-resources"].items()}
    profile["slurm-status-command"] = "squeue"
    profile["slurm-init-seconds-before-status-checks"] = 1
    profile["latency-wait"] = 5
    directory.mkdir(parents=True)
    (directory / "config.yaml").write_text(yaml.safe_dump(profile))
    return directory


def _run_through_slurm(workdir: Path, profile: Path, config: Path) -> str:
    """Run the workflow with the SLURM profile; returns its log (verbose: the plugin's sbatch calls)."""
    command = [
        *SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(workdir),
        "--profile", str(profile), "--configfile", str(config), "--verbose",
    ]  # fmt: skip
    # jobs inherit this environment (sbatch --export=ALL): this Python first on PATH
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    log_path = workdir / "snakemake_slurm.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            returncode = process.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # Snakemake may ignore SIGTERM while it polls
            subprocess.run(["scancel", "--user", "root"], check=False)
            returncode = None
    output = log_path.read_text()
    assert returncode == 0, f"snakemake --profile slurm ended with {returncode}:\n{output[-6000:]}"
    return output


def test_tiny_dag_runs_as_slurm_jobs_and_matches_the_local_run(
    slurm_cluster: None, finished_run: Path, tmp_path: Path
) -> None:
    workdir = tmp_path / "workflow"
    workdir.mkdir()
    # one worker per shard job, so the two shards of a per-image rule run side by side on the 2-CPU node
    config = write_config(workdir / "tiny.yaml", merge(TINY, {"shards": 2, "threads": {"per_image": 1}}))
    output = _run_through_slurm(workdir, _test_profile(tmp_path / "profile"), config)

    # every job of a non-local rule was submitted to SLURM, each under its own job id
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+) \(log: (\S+?)\)", output)
    rules_submitted = [re.search(r"slurm_logs/rule_(\w+)/", log).group(1) for _, log in submitted]
    expected = {rule: count for rule, count in job_counts(output).items() if rule not in LOCAL_RULES}
    assert {rule: rules_submitted.count(rule) for rule in set(rules_submitted)} == expected
    job_ids_in_order = [job_id for job_id, _ in submitted]
    job_ids = set(job_ids_in_order)
    assert len(job_ids) == len(submitted) == sum(expected.values())

    # the GPU-tagged rules asked SLURM for a GPU through the plugin (sbatch --gpus=1)
    sbatch_calls = [line for line in output.splitlines() if "sbatch call:" in line]
    gpu_calls = [line for line in sbatch_calls if re.search(r"--gpus=1\b", line)]
    assert gpu_calls and len(gpu_calls) == sum(expected[rule] for rule in GPU_RULES), sbatch_calls
    assert not any("--gpus" in line for line in sbatch_calls if "rule_extract_saliency" in line)

    # SLURM's own record: each job id completed (jobcomp/filetxt), GPU rules in the GPU partition, the others in the CPU one
    records = dict(re.findall(r"JobId=(\d+) .*?JobState=(\w+)", JOBCOMP_LOG.read_text()))
    assert {job_id: records.get(job_id) for job_id in job_ids} == dict.fromkeys(job_ids, "COMPLETED")
    partition_of = dict(re.findall(r"JobId=(\d+) .*?Partition=(\S+)", JOBCOMP_LOG.read_text()))
    partitions = _partitions()
    ran_in = {job_id: partition_of.get(job_id) for job_id in job_ids}
    expected_in = {job_id: partitions["gpu" if rule in GPU_RULES else "cpu"] for job_id, rule in zip(job_ids_in_order, rules_submitted)}
    assert ran_in == expected_in
    assert partitions["cpu"] != partitions["gpu"]
    # and each rule's log names the job it ran in
    assert "SLURM job" in (workdir / "results" / "tiny" / "logs" / "train_joint.log").read_text()

    # two shards per per-image stage, and the same results as the local, unsharded run
    assert sorted(p.name for p in (workdir / "results" / "tiny" / "shards" / "saliency").iterdir()) == ["0-of-2", "1-of-2"]
    local_run, slurm_run = finished_run / "results" / "tiny", workdir / "results" / "tiny"
    assert compare_runs(local_run, slurm_run) == []
