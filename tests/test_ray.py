"""The Ray backends on a local cluster: teacher replicas as actors, experiment grids as tasks.

One local cluster (2 CPUs, a 100 MB object store, no dashboard) serves the module; the tests
that need it are skipped only where Ray is not installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import bidir_core
import numpy as np
import pytest
import torch
from bidir_core.cli import main
from bidir_core.student.ppo import PPOConfig
from bidir_core.teacher import load_teacher
from bidir_core.teacher.backends import replica_factory
from bidir_core.teacher.samples import oracle_samples
from bidir_core.teacher.service import TeacherService
from bidir_core.training import TrainConfig, Trainer, read_metrics
from bidir_core.training.modes import TeacherModeConfig
from teacher_models import wait_for_hints

TASK = "BabyAI-GoToRedBallNoDists-v0"
SMALL_CLUSTER = dict(num_cpus=2, object_store_memory=100 * 2**20, include_dashboard=False,
                     log_to_driver=False)  # fmt: skip
QUIET_RAY = {"RAY_AUTH_MODE": "disabled", "RAY_DEFAULT_OBJECT_STORE_MAX_MEMORY_BYTES": "100000000"}


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    old = {k: os.environ.get(k) for k in QUIET_RAY}
    os.environ.update(QUIET_RAY)
    ray.init(**SMALL_CLUSTER)
    yield ray
    ray.shutdown()
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# -- without a cluster -------------------------------------------------------------------
@pytest.mark.parametrize(
    "fields,message",
    [
        ({"backend": "ray", "teacher_resources": "GPU"}, "teacher_resources: resources must be a JSON object"),
        ({"backend": "ray", "teacher_resources": '{"GPU": -1}'}, "'GPU' must be a finite number >= 0"),
        ({"backend": "ray", "teacher_resources": '["GPU"]'}, "must be a JSON object"),
        ({"backend": "ray", "teacher_replicas": 0}, "teacher_replicas must be >= 1"),
        ({"backend": "process", "teacher_replicas": 2}, "need teacher.backend ray"),
        ({"teacher_resources": '{"GPU": 1}'}, "need teacher.backend ray"),
    ],
)
def test_bad_ray_teacher_settings_are_clear_errors(fields, message):
    with pytest.raises(ValueError, match=message):
        TeacherModeConfig(**fields).validate()


def test_bad_ray_grid_flags_are_clear_errors(tmp_path, capsys):
    argv = ["experiment", "paper", "--modes", "ppo", "--out", str(tmp_path / "exp")]
    assert main([*argv, "--address", "10.0.0.1:6379"]) == 2
    assert "--address needs --backend ray" in capsys.readouterr().err
    assert main([*argv, "--backend", "ray", "--run-cpus", "0"]) == 2
    assert "--run-cpus must be > 0" in capsys.readouterr().err
    assert not (tmp_path / "exp").exists()


@pytest.mark.slow  # a Python process that imports torch
def test_the_local_defaults_never_import_ray():
    code = textwrap.dedent("""
        import sys
        import bidir_core.experiment, bidir_core.teacher.backends, bidir_core.training.trainer
        from bidir_core.training import TrainConfig, Trainer
        from bidir_core.training.modes import TeacherModeConfig
        import tempfile, pathlib
        cfg = TrainConfig(mode="teach", task="BabyAI-GoToRedBallNoDists-v0", num_envs=4,
                          steps_per_iteration=16, total_frames=16,
                          teacher=TeacherModeConfig(probe_states=4))
        with Trainer(cfg, pathlib.Path(tempfile.mkdtemp()) / "r", progress=False,
                     tensorboard=False) as t:
            t.train()
        assert "ray" not in sys.modules, "ray was imported"
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)


# -- on the module's cluster -------------------------------------------------------------
@pytest.mark.slow
def test_two_replicas_answer_as_the_teacher_and_follow_its_updates(ray_cluster):
    from bidir_core.teacher.backends.ray_actors import RayTeacherBackend

    teacher = load_teacher("tiny", batch_size=64)
    backend = RayTeacherBackend(teacher, replica_factory("tiny", temperature=1.0, batch_size=64),
                                num_actions=7, replicas=2, max_batch=4)
    prompts, _ = oracle_samples(TASK, 8, seed=4)
    with TeacherService(teacher, len(prompts), backend=backend, timeout=120.0) as service:
        h = wait_for_hints(service, prompts, timeout=120.0)
        assert h.valid.all()
        np.testing.assert_allclose(h.probs[:, :6], np.exp(teacher.action_logprobs(prompts)),
                                   atol=1e-5)
        with teacher.lock, torch.no_grad():  # an "update" of the parent's weights
            for p in teacher.model.parameters():
                p.add_(0.05 * torch.randn_like(p))
            teacher.bump_version()
        h = wait_for_hints(service, prompts, timeout=120.0)
        assert h.valid.all() and (h.version == teacher.version).all()
        np.testing.assert_allclose(h.probs[:, :6], np.exp(teacher.action_logprobs(prompts)),
                                   atol=1e-5)
        # a prompt is always scored by replica hash % 2: each has its own share
        hashes = bidir_core._core.hash_prompts(prompts)
        assert set((hashes % np.uint64(2)).tolist()) == {0, 1}
        assert service.metrics()["batches"] >= 4
        pids = backend.pids
    assert not backend.alive
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in pids), "close() left a replica running"
    assert ray_cluster.is_initialized()  # the backend did not start Ray, so it leaves it


@pytest.mark.slow
def test_bidir_on_two_replicas_survives_a_killed_replica(ray_cluster, tmp_path):
    cfg = TrainConfig(
        mode="bidir", task=TASK, num_envs=4, steps_per_iteration=32, total_frames=32 * 5, seed=0,
        teacher=TeacherModeConfig(probe_states=8, backend="ray", teacher_replicas=2,
                                  call_timeout=60.0, hint_wait=1.0),
        ppo=PPOConfig(update_epochs=1, num_minibatches=2),
    )  # fmt: skip
    with Trainer(cfg, tmp_path / "run", progress=False, tensorboard=False) as trainer:
        backend = trainer.mode.service._backend
        assert type(backend).__name__ == "RayTeacherBackend" and backend.replicas == 2
        trainer.train(stop_after_iteration=2)
        first = backend.pids[0]
        ray_cluster.kill(backend.actors[0], no_restart=False)  # Ray restarts it
        summary = trainer.train()
        assert backend.restarts >= 1 and backend.alive
        _, pid = ray_cluster.get(backend.actors[0].ready.remote(), timeout=120)
        assert pid != first  # the replica came back, as a new process
    assert summary["status"] == "finished" and summary["iterations"] == 5
    rows = read_metrics(tmp_path / "run")
    assert len(rows) == 5
    assert rows[-1]["hint_valid_fraction"] > 0  # hints after the kill
    assert all(np.isfinite(r["teacher_agreement"]) for r in rows if "teacher_agreement" in r)


TINY = ["--num-envs", "8", "--steps-per-iteration", "64", "--task", TASK]


@pytest.mark.slow
def test_a_two_run_grid_through_the_ray_backend(ray_cluster, tmp_path, capsys):
    out = tmp_path / "exp"
    argv = ["experiment", "paper", "--modes", "ppo", "--seeds", "2", "--budgets", "2",
            "--out", str(out), "--backend", "ray", "--eval-episodes", "4", *TINY]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "as Ray tasks" in printed
    for name in ("ppo-s0", "ppo-s1"):
        assert [r["iteration"] for r in read_metrics(out / "runs" / name)] == [1, 2]
        assert f"{name} finished" in printed
        assert "# on " in (out / "logs" / f"{name}.log").read_text()  # the task's node
    results = json.loads((out / "results.json").read_text())
    assert [(r["mode"], r["iterations"], r["seeds"]) for r in results["results"]] == [("ppo", 2, 2)]
    assert json.loads((out / "experiment.json").read_text())["backend"] == "ray"
    # resumable as the local pool: a rerun trains nothing
    assert main(argv) == 0
    assert capsys.readouterr().out.count("finished already (2 iterations), skipped") == 2


@pytest.mark.slow  # its own Ray cluster, in a child process
def test_close_shuts_down_the_ray_it_started_and_leaves_nothing_behind(tmp_path):
    code = textwrap.dedent("""
        import os, time, ray
        from bidir_core.teacher import load_teacher
        from bidir_core.teacher.backends import replica_factory
        from bidir_core.teacher.backends.ray_actors import RayTeacherBackend

        teacher = load_teacher("tiny")
        backend = RayTeacherBackend(teacher, replica_factory("tiny", temperature=1.0,
                                    batch_size=32), num_actions=7, replicas=2)
        assert ray.is_initialized()
        print("PIDS", *backend.pids, flush=True)
        assert backend.close()
        assert not ray.is_initialized()

        def descendants():
            kids = {}
            for d in os.listdir("/proc"):
                if d.isdigit():
                    try:
                        stat = open(f"/proc/{d}/stat").read()
                    except OSError:
                        continue
                    kids.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(d))
            out, todo = [], [os.getpid()]
            while todo:
                for k in kids.get(todo.pop(), []):
                    out.append(k)
                    todo.append(k)
            return out

        deadline = time.monotonic() + 30
        while descendants() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not descendants(), f"left running: {descendants()}"
        print("CLEAN")
    """)
    env = dict(os.environ, **QUIET_RAY)
    env.pop("RAY_ADDRESS", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=400, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "CLEAN" in done.stdout
    pids = [int(p) for p in done.stdout.split("PIDS", 1)[1].split("\n", 1)[0].split()]
    assert not any(_alive(p) for p in pids)


@pytest.mark.slow  # a `bidir train` process
def test_a_grid_task_passes_ctrl_c_on_to_its_run_through_the_stop_file(tmp_path):
    import threading

    from bidir_core.experiment.ray_backend import train_run

    (tmp_path / "experiment.json").write_text("{}")
    run_dir, log = tmp_path / "runs" / "ppo-s0", tmp_path / "ppo-s0.log"
    argv = ["train", "--mode", "ppo", "--task", TASK, "--frames", str(256 * 10_000),
            "--steps-per-iteration", "256", "--num-envs", "8", "--run-dir", str(run_dir),
            "--quiet"]  # fmt: skip
    result = []
    worker = threading.Thread(target=lambda: result.append(
        train_run(argv, str(log), str(tmp_path), "")))
    worker.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (
        (run_dir / "metrics.jsonl").is_file() and read_metrics(run_dir)
    ):
        time.sleep(0.2)  # wait until it trains (its first iteration is written)
    (tmp_path / "ppo-s0.stop").write_text("stop\n")  # what RayLauncher.interrupt appends
    worker.join(120)
    assert result == [(130, None)], log.read_text()
    assert "interrupted:" in log.read_text(), log.read_text()
    assert 0 < read_metrics(run_dir)[-1]["iteration"] < 10_000


def test_a_grid_task_refuses_an_experiment_folder_it_cannot_see(tmp_path):
    from bidir_core.experiment.ray_backend import train_run

    code, why = train_run(["train"], str(tmp_path / "x.log"), str(tmp_path / "elsewhere"), "")
    assert code == 2 and "is not visible on node" in why and "shared filesystem" in why
