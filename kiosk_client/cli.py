"""`kiosk-client run` starts the kiosk; `kiosk-client doctor` checks the camera, the server and the token."""

from __future__ import annotations

import logging
import os
import signal
import stat
import threading
from pathlib import Path

import click

from kiosk_client.camera import Camera, CameraError, live_only, resolve

log = logging.getLogger("kiosk_client")
DEFAULT_JOURNAL = (
    Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "kiosk-client" / "journal.sqlite3"
)
DEFAULT_VOICE_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kiosk-client" / "voice"


def voice_options(command):
    """Add the options of the spoken guidance to a command."""
    command = click.option(
        "--recordings",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="folder of the bureau's own recordings, KEY.wav/.mp3/.ogg (keys: `kiosk-client voice list`)",
    )(command)
    return click.option(
        "--voice-cache",
        type=click.Path(file_okay=False, path_type=Path),
        default=DEFAULT_VOICE_CACHE,
        show_default=True,
        help="where espeak-ng's audio of each phrase is kept",
    )(command)


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
@click.option(
    "--allow-file-camera",
    is_flag=True,
    envvar="KIOSK_DEV",
    help="development and tests only: accept a video file or image folder as --camera (or set KIOSK_DEV=1)",
)
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
@voice_options
@click.option(
    "--volume", default=80, show_default=True, type=click.IntRange(0, 100), help="loudness of the spoken guidance"
)
@click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--log-level", default="info", show_default=True)
def run(
    server,
    face_server,
    token_file,
    camera_spec,
    loop,
    fps,
    allow_file_camera,
    host,
    port,
    journal,
    id_file,
    countdown,
    voice_cache,
    recordings,
    volume,
    log_file,
    log_level,
) -> None:
    """Start the kiosk: open the camera, serve the screen on 127.0.0.1 and talk to the server."""
    from kiosk_client.api import KioskApi
    from kiosk_client.app import KioskApp
    from kiosk_client.burst import Filming
    from kiosk_client.guidance import FaceGuide
    from kiosk_client.idreader import FileReader, IdCardReader, KeyboardReader
    from kiosk_client.journal import Journal
    from kiosk_client.voice import Voice
    from kiosk_client.web.server import NotLoopback, ScreenServer, check_loopback

    setup_logging(log_level, log_file)
    try:
        check_loopback(host)
    except NotLoopback as exc:
        raise click.ClickException(str(exc)) from None
    token = read_token(token_file)
    try:
        camera = Camera(live_only(resolve(camera_spec), allow_file_camera), loop=loop, fps=fps).start()
    except CameraError as exc:
        raise click.ClickException(f"camera: {exc}") from None
    log.info("camera: %s at %.1f fps nominal", camera.source.description, camera.nominal_fps)
    readers: list[IdCardReader] = [KeyboardReader(), *([FileReader(id_file)] if id_file else [])]
    api = KioskApi(server, token, face_url=face_server)
    voice = Voice(voice_cache, recordings, volume)
    if not voice.enabled:
        log.warning("no spoken guidance: install espeak-ng (apt-get install espeak-ng) or give --recordings")
    else:
        # First start: make the fixed phrases' audio in the background; the screen works meanwhile.
        threading.Thread(target=_build_voice, args=(voice,), name="voice-build", daemon=True).start()
    kiosk = KioskApp(
        api, Filming(camera, FaceGuide()), Journal(journal), readers, countdown=countdown, voice=voice
    ).start()
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


def _build_voice(voice) -> None:
    from kiosk_client.voice import VoiceError

    try:
        made, ready = voice.build()
        log.info("voice: %d phrases made, %d ready", made, ready)
    except VoiceError as exc:
        log.error("voice: %s", exc)


@main.group()
def voice() -> None:
    """The spoken guidance: make its audio ahead of use, list the phrases a bureau may record."""


@voice.command("build")
@voice_options
def voice_build(voice_cache, recordings) -> None:
    """Make the audio of every fixed phrase with espeak-ng (at install; `run` also does it at first start)."""
    from kiosk_client.voice import Voice, VoiceError

    speaker = Voice(voice_cache, recordings)
    try:
        made, ready = speaker.build()
    except VoiceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"voice: {made} phrases made, {ready} already there or recorded, in {voice_cache}")


@voice.command("list")
def voice_list() -> None:
    """Print KEY<tab>TEXT of each fixed phrase: record KEY.wav (or .mp3/.ogg) in the --recordings folder."""
    from kiosk_client.texts import fixed_phrases

    for phrase in fixed_phrases():
        click.echo(f"{phrase.key}\t{phrase.text}")


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
