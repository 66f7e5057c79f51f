"""The peers side by side: botbuilder-python and the Agents SDK against the same connector.

Runs only where the peers' virtualenvs exist (``.venv-bb`` and ``.venv-agents`` in the peers'
folder; ``bench/README.md`` says how to create them). It never creates them. For each one:

1. the peers' ``mock_connector.py`` starts with that venv's Python on a free port, answering
   after 20 ms;
2. the peers' client runs against it (``bench_botbuilder.py`` / ``bench_agents.py`` ``--mode
   conc``: 2,000 conversations, concurrency 50, auth skipped as the peers measured it);
3. this project's sender (``bench.send_worker``, ``BOT_AUTH_DISABLED=true``) runs against the
   same mock;

and the ratio of our rate to theirs is reported. The raw-aiohttp baseline (one shared
session) runs too, with the first venv's Python. The peers' scripts are copied to a temporary
folder first, because they append to a ``results.jsonl`` beside themselves.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.child_process import run_json_child
from bench.environment import OFFLINE_SETTINGS, clean_environment
from bench.proactive_send import run_sender
from bench.report import Check, Row
from bench.session import BenchSession
from dev.stack import free_port

NAME = "peers"
MOCK_READY_SECONDS = 20.0
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Peer:
    """One peer SDK: its venv and its benchmark script."""

    name: str
    venv: str
    script: str
    extra_arguments: tuple[str, ...] = ()


PEERS = (
    Peer("botbuilder", ".venv-bb", "bench_botbuilder.py"),
    Peer("agents", ".venv-agents", "bench_agents.py"),
)
BASELINE = Peer("raw-aiohttp", "", "bench_raw_aiohttp.py")


def venv_python(peers_dir: Path, venv: str) -> Path:
    """The Python of a peers' venv."""
    return peers_dir / venv / "bin" / "python"


class MockConnector:
    """The peers' ``mock_connector.py`` as a child process on a free port."""

    def __init__(self, python: Path, scripts: Path, delay_ms: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = scripts / f"mock-{self.port}.log"
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(
                [
                    str(python),
                    "mock_connector.py",
                    "--port",
                    str(self.port),
                    "--delay-ms",
                    str(delay_ms),
                ],
                cwd=scripts,
                env=clean_environment(),
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + MOCK_READY_SECONDS
        while not self._answers():
            if self.process.poll() is not None:
                output = self.log.read_text(errors="replace").strip().splitlines()[-5:]
                raise RuntimeError(
                    f"mock_connector.py exited ({self.process.returncode}): " + " | ".join(output)
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"mock_connector.py not ready in {MOCK_READY_SECONDS} s")
            time.sleep(POLL_SECONDS)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/stats", timeout=1) as response:  # noqa: S310 - loopback URL we built
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """SIGTERM, then SIGKILL; always waited for."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


CPU_WRAPPER = Path(__file__).with_name("peer_cpu.py")
"""Runs a peer's script and adds its CPU time per timed send to its figures."""


def _run_peer(python: Path, scripts: Path, peer: Peer, port: int, sends: int) -> dict[str, Any]:
    command = [
        str(python),
        CPU_WRAPPER.name,
        peer.script,
        *peer.extra_arguments,
        *("--mode", "conc", "--n", str(sends), "--concurrency", "50", "--port", str(port)),
    ]
    # botbuilder is CPU-bound at ~48 msg/s: 2,000 sends take ~45 s.
    return run_json_child(command, clean_environment(), timeout=120 + sends / 5, cwd=scripts)


def _ours(session: BenchSession, mock: MockConnector) -> dict[str, Any]:
    settings = {
        **OFFLINE_SETTINGS,
        "BOT_AUTH_DISABLED": "true",
        "BOT_ALLOWED_SERVICE_URLS": mock.url,
    }
    return run_sender(mock.url + "/", settings, session.sizes)


def _compare(
    session: BenchSession, python: Path, scripts: Path, peer: Peer
) -> tuple[dict[str, Any], dict[str, Any]]:
    mock = MockConnector(python, scripts, session.sizes.connector_delay_ms)
    try:
        theirs = _run_peer(python, scripts, peer, mock.port, session.sizes.proactive_sends)
        ours = _ours(session, mock)
    finally:
        mock.stop()
    return theirs, ours


def _row(peer: Peer, theirs: dict[str, Any], ours: dict[str, Any]) -> Row:
    their_rate = float(theirs["msgs_per_s"])
    our_rate = float(ours["messages_per_s"])
    ratio = our_rate / their_rate if their_rate else float("nan")
    figures: dict[str, float | int | str | None] = {
        "their_messages_per_s": their_rate,
        "their_peak_rss_mb": theirs.get("peak_rss_mb"),
        "their_errors": theirs.get("errors"),
        "our_messages_per_s": our_rate,
        "our_peak_rss_mb": ours["peak_rss_mb"],
        "ratio_ours_to_theirs": round(ratio, 2),
        # Process CPU over the timed sends / sends: what a loaded machine disturbs least.
        "their_cpu_us_per_message": theirs.get("cpu_us_per_message"),
        "our_cpu_us_per_message": ours.get("cpu_us_per_message"),
    }
    return Row(
        f"{NAME}[{peer.name}]",
        f"theirs {their_rate:,.0f} msg/s ({theirs.get('peak_rss_mb', 0):.0f} MB), "
        f"ours {our_rate:,.0f} msg/s ({ours['peak_rss_mb']:.0f} MB): {ratio:.2f}x; CPU/msg "
        f"theirs {theirs.get('cpu_us_per_message', 0):.0f} µs, "
        f"ours {ours.get('cpu_us_per_message', 0):.0f} µs",
        figures,
        checks=(Check("errors in our run", int(ours["errors"])),),
        notes=[f"{theirs.get('sdk', peer.name)}; same mock, same sizes, auth skipped on both"],
        details={"theirs": theirs, "ours": ours},
    )


def run(session: BenchSession) -> list[Row]:
    """Run the peers and ours against the same mock connector, where the venvs exist."""
    peers_dir = session.options.peers_dir
    available = [peer for peer in PEERS if venv_python(peers_dir, peer.venv).is_file()]
    if not available:
        missing = ", ".join(str(peers_dir / peer.venv) for peer in PEERS)
        return [Row.skipped(NAME, f"no venv at {missing}")]
    scripts = session.work_dir / "peers"
    scripts.mkdir(parents=True, exist_ok=True)
    for script in peers_dir.glob("*.py"):
        shutil.copy2(script, scripts / script.name)
    shutil.copy2(CPU_WRAPPER, scripts / CPU_WRAPPER.name)

    rows = []
    for peer in available:
        theirs, ours = _compare(session, venv_python(peers_dir, peer.venv), scripts, peer)
        rows.append(_row(peer, theirs, ours))
    if (scripts / BASELINE.script).is_file():
        python = venv_python(peers_dir, available[0].venv)
        theirs, ours = _compare(session, python, scripts, BASELINE)
        rows.append(_row(BASELINE, theirs, ours))
    skipped = [peer for peer in PEERS if peer not in available]
    for peer in skipped:
        rows.append(Row.skipped(f"{NAME}[{peer.name}]", f"no venv at {peers_dir / peer.venv}"))
    return rows
