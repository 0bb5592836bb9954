"""`kiosk-client run` starts the kiosk; `kiosk-client doctor` checks the camera, the server and the token."""

from __future__ import annotations

import logging
import os
import signal
import stat
import threading
from pathlib import Path

import click

from kiosk_client.camera import Camera, CameraError, resolve

log = logging.getLogger("kiosk_client")
DEFAULT_JOURNAL = (
    Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "kiosk-client" / "journal.sqlite3"
)


def read_token(path: Path) -> str:
    """Return the device token from its file, refusing a missing or empty one."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise click.ClickException(f"cannot read the token file {path}: {exc.strerror}") from None
    if not token:
        raise click.ClickException(
            f"the token file {path} is empty; put the token from `exam-server kiosk register NAME` in it"
        )
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("token file %s is readable by other users; run: chmod 600 %s", path, path)
    return token


def setup_logging(level: str, log_file: Path | None) -> None:
    """Log to stderr (and a file) with times and thread names."""
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_file:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    logging.basicConfig(
        level=level.upper(),
        handlers=handlers,
        force=True,
        format="%(asctime)s %(levelname)-7s %(name)s [%(threadName)s] %(message)s",
    )
    # One line per request from the screen's browser would drown what a technician needs.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)


@click.group()
def main() -> None:
    """The exam kiosk: camera, worker's screen on 127.0.0.1, journal of answers through outages."""


def camera_options(command):
    """Add the camera source options to a command."""
    command = click.option(
        "--fps",
        type=float,
        default=None,
        help="frame rate of a video file or image folder (default: the file's, or 10)",
    )(command)
    command = click.option("--loop/--no-loop", default=False, help="replay a video file or image folder")(command)
    return click.option(
        "--camera",
        "camera_spec",
        default="0",
        show_default=True,
        help="camera index, video file, or folder of images frame_000.jpg, frame_001.jpg...",
    )(command)


FACE_SERVER_HELP = (
    "URL of the server's face pool for check-in bursts and in-exam captures, when the "
    "deployment runs one (docs/scaling.md); default: --server"
)


@main.command()
@click.option("--server", required=True, help="exam server URL, e.g. https://exam.example.gov.cn")
@click.option("--face-server", default=None, help=FACE_SERVER_HELP)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="file holding this kiosk's device token",
)
@camera_options
@click.option("--host", default="127.0.0.1", show_default=True, help="loopback address for the screen")
@click.option("--port", default=8080, show_default=True, type=int, help="port of the screen (0: any free)")
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_JOURNAL,
    show_default=True,
    help="SQLite journal of answers and captures",
)
@click.option(
    "--id-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help='read ID cards from this JSON file ({"citizen_id", "chip_photo"}) besides the keypad',
)
@click.option("--countdown", default=3, show_default=True, type=int, help="seconds before filming a challenge")
@click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--log-level", default="info", show_default=True)
def run(
    server,
    face_server,
    token_file,
    camera_spec,
    loop,
    fps,
    host,
    port,
    journal,
    id_file,
    countdown,
    log_file,
    log_level,
) -> None:
    """Start the kiosk: open the camera, serve the screen on 127.0.0.1 and talk to the server."""
    from kiosk_client.api import KioskApi
    from kiosk_client.app import KioskApp
    from kiosk_client.burst import Filming
    from kiosk_client.guidance import FaceGuide
    from kiosk_client.idreader import FileReader, KeyboardReader
    from kiosk_client.journal import Journal
    from kiosk_client.web.server import NotLoopback, ScreenServer, check_loopback

    setup_logging(log_level, log_file)
    try:
        check_loopback(host)
    except NotLoopback as exc:
        raise click.ClickException(str(exc)) from None
    token = read_token(token_file)
    try:
        camera = Camera(resolve(camera_spec), loop=loop, fps=fps).start()
    except CameraError as exc:
        raise click.ClickException(f"camera: {exc}") from None
    log.info("camera: %s at %.1f fps nominal", camera.source.description, camera.nominal_fps)
    readers = [KeyboardReader(), *([FileReader(id_file)] if id_file else [])]
    api = KioskApi(server, token, face_url=face_server)
    kiosk = KioskApp(api, Filming(camera, FaceGuide()), Journal(journal), readers, countdown=countdown).start()
    screen = ScreenServer(kiosk, host, port).start()
    click.echo(f"kiosk screen: {screen.url}", err=True)
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    done.wait()
    log.info("stopping")
    screen.stop()
    kiosk.stop()
    camera.stop()


@main.command()
@click.option("--server", default=None, help="exam server URL to check")
@click.option("--face-server", default=None, help=FACE_SERVER_HELP)
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), default=None)
@camera_options
@click.option("--seconds", default=3.0, show_default=True, help="how long to watch the camera")
def doctor(server, face_server, token_file, camera_spec, loop, fps, seconds) -> None:
    """Check the camera (frame rate, resolution), the server and the token; say what is wrong."""
    from kiosk_client.doctor import run_checks

    setup_logging("warning", None)
    results = run_checks(camera_spec, fps, server, token_file, seconds, face_server)
    for result in results:
        click.echo(result.line())
    if any(not r.ok for r in results):
        raise SystemExit(1)
