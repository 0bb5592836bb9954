"""What can be tested of the image here (no Docker engine): its commands exist and gunicorn serves."""

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import REPO

DOCKERFILE = (REPO / "Dockerfile").read_text()


def test_dockerfile_is_multi_stage_and_runs_as_non_root():
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\w+))?", DOCKERFILE, re.M)
    assert len(stages) == 2 and stages[0][1] == "build"
    assert "COPY --from=build" in DOCKERFILE
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE, re.M)
    assert users and users[-1] not in ("root", "0")


def test_files_the_image_copies_exist():
    copies = [
        line.split()[1:-1] for line in DOCKERFILE.splitlines() if line.startswith("COPY ") and "--from" not in line
    ]
    assert copies
    for sources in copies:
        for path in sources:
            assert (REPO / path).exists(), f"Dockerfile copies missing {path}"


def test_entrypoint_commands_exist():
    entrypoint = (REPO / "scripts" / "docker-entrypoint.sh").read_text()
    assert "exam-server init-db" in entrypoint and 'exec "$@"' in entrypoint
    bin_dir = Path(sys.executable).parent
    for command in ("exam-server", "gunicorn"):
        assert (bin_dir / command).exists() or shutil.which(command), f"{command} is not installed"
    cmd = re.search(r'^CMD \["gunicorn", "-c", "gunicorn.conf.py", "([\w.]+):(\w+)"\]', DOCKERFILE, re.M)
    assert cmd, "CMD should run gunicorn with gunicorn.conf.py"
    module, attribute = cmd.groups()
    assert (REPO / (module.replace(".", "/") + ".py")).exists() and attribute == "app"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(tmp_path, **settings: str):
    """Run the image's entrypoint and gunicorn with gunicorn.conf.py until it answers /healthz; yield the process."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXAM_")}
    env.update(
        {
            "EXAM_SECRET_KEY": "deploy-test",
            "EXAM_DATA_DIR": str(tmp_path),
            "EXAM_WORKERS": "2",
            "EXAM_BIND": f"127.0.0.1:{port}",
            "PATH": f"{Path(sys.executable).parent}:{env['PATH']}",
            **settings,
        }
    )
    process = subprocess.Popen(
        [
            "sh",
            str(REPO / "scripts" / "docker-entrypoint.sh"),
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "exam_server.wsgi:app",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert process.poll() is None, process.stdout.read().decode()[-2000:]
                assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.3)
        yield process
    finally:
        process.terminate()
        process.output = process.communicate(timeout=30)[0].decode()


def test_entrypoint_migrates_then_gunicorn_serves_with_the_conf(tmp_path):
    with serving(tmp_path) as process:
        assert (tmp_path / "exam.db").exists()
    assert "Booting worker" in process.output


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    return [int(child) for task in tasks.iterdir() for child in (task / "children").read_text().split()]


def test_a_face_pool_runs_its_workers_at_lower_priority(tmp_path):
    """EXAM_NICE lowers the workers' priority (the face pool of docs/scaling.md), not the master's."""
    base = os.getpriority(os.PRIO_PROCESS, 0)
    with serving(tmp_path, EXAM_NICE="10", EXAM_SWEEP_SECONDS="0") as master:  # the entrypoint execs gunicorn
        workers = _children(master.pid)
        assert len(workers) == 2
        assert [os.getpriority(os.PRIO_PROCESS, pid) for pid in workers] == [min(base + 10, 19)] * 2
        assert os.getpriority(os.PRIO_PROCESS, master.pid) == base
