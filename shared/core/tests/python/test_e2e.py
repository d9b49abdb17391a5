"""The core through its generated Python bindings, against a real server.

Run by scripts/test with FAMILLE_SERVER_BIN (the famille-server binary) and
FAMILLE_CORE_BINDINGS (a folder with famille_core.py and libfamille_core.so).
"""

import asyncio
import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

BINDINGS = os.environ["FAMILLE_CORE_BINDINGS"]
sys.path.insert(0, BINDINGS)
import famille_core as fc  # noqa: E402

PARENT = ("parent@famille.example", "demo-parent-pw")
AGENT = ("agent@famille.example", "demo-agent-pw")
OFFLINE = "http://127.0.0.1:9"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """famille-server serve --demo on a free port, in a temporary folder."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="famille-py-server-")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = dict(os.environ, FAMILLE_DATA=self.dir, FAMILLE_LISTEN=f"127.0.0.1:{port}", RUST_LOG="warn")
        env.pop("DATABASE_URL", None)
        self.process = subprocess.Popen([os.environ["FAMILLE_SERVER_BIN"], "serve", "--demo"], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(300):
            try:
                urllib.request.urlopen(self.url + "/health", timeout=1)
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(self.process.stderr.read().decode())
                time.sleep(0.05)
        raise RuntimeError("the server did not start")

    def call(self, method, path, token=None, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("content-type", "application/json")
        if token:
            req.add_header("authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
            return json.loads(raw) if raw else None

    def token(self, who):
        return self.call("POST", "/api/v1/auth/login", body={"email": who[0], "password": who[1], "remember_me": False})["access_token"]

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Progress(fc.ProgressListener):
    def __init__(self):
        self.steps = []

    def on_progress(self, step, done, total):
        self.steps.append((step, done, total))


def open_core(folder, url, progress=None):
    return fc.Core(folder, url, fc.file_token_store(os.path.join(folder, "tokens.json")), progress)


def cells(days):
    return [c for d in days for c in d.cells]


def window():
    today = dt.date.today()
    return today.isoformat(), (today + dt.timedelta(days=27)).isoformat()


def cancellable_free(days):
    limit = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    return [c for c in cells(days) if c.state == "available"
            and dt.datetime.fromisoformat(c.cancellation_deadline) > limit]


class EndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="famille-py-phone-")

    def tearDown(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def test_offline_booking_restart_and_verdicts(self):
        progress = Progress()
        core = open_core(self.folder, self.server.url, progress)
        asyncio.run(core.login(*PARENT))
        report = asyncio.run(core.sync())
        self.assertGreater(report.changes, 0)
        self.assertTrue(any(step == "réception" for step, _, _ in progress.steps))
        children = core.children()
        self.assertEqual([c.first_name for c in children], ["Elena", "Valentine", "Luc", "Chloé"])
        elena, luc = children[0].id, children[2].id
        start, end = window()
        free = cancellable_free(core.calendar(elena, start, end))
        self.assertGreaterEqual(len(free), 2)
        blocked = next(c for c in cells(core.calendar(luc, start, end)) if c.state == "blocked")
        self.assertEqual(blocked.missing_documents, ["Carnet de vaccination"])
        self.assertTrue(any(a.child_id == luc for a in core.alerts()))
        del core

        # Offline: book two days, cancel one, book Luc where he is blocked.
        offline = open_core(self.folder, OFFLINE)
        kept = offline.reserve(elena, free[0].session_id)
        dropped = offline.reserve(elena, free[1].session_id)
        offline.cancel(dropped)
        offline.reserve(luc, blocked.session_id)
        shown = {c.session_id: c for c in cells(offline.calendar(elena, start, end))}
        self.assertEqual((shown[free[0].session_id].state, shown[free[0].session_id].pending), ("reserved", True))
        self.assertEqual(shown[free[0].session_id].reservation_id, kept)
        self.assertEqual(shown[free[1].session_id].state, "available")
        with self.assertRaises(fc.CoreError.Offline):
            asyncio.run(offline.sync())
        self.assertEqual([q.state for q in offline.queue()], ["pending", "pending"])
        del offline

        # Restarted from its folder, online again: the server's verdicts.
        core = open_core(self.folder, self.server.url)
        report = asyncio.run(core.sync())
        self.assertEqual((report.sent, report.applied, report.rejected), (2, 1, 1))
        [rejected] = core.queue()
        self.assertEqual((rejected.state, rejected.code), ("rejected", "document_required"))
        self.assertIn("Carnet de vaccination", rejected.detail)
        shown = {c.session_id: c for c in cells(core.calendar(elena, start, end))}
        self.assertEqual((shown[free[0].session_id].state, shown[free[0].session_id].pending), ("reserved", False))
        self.assertTrue(core.dismiss_rejected(rejected.id))
        self.assertEqual(core.queue(), [])

        with self.assertRaises(fc.CoreError.InvalidInput):
            core.calendar(elena, "2026-13-01", end)

    def test_killed_between_sending_and_recording_the_answer(self):
        core = open_core(self.folder, self.server.url)
        asyncio.run(core.login(*PARENT))
        asyncio.run(core.sync())
        valentine = core.children()[1].id
        start, end = window()
        free = cancellable_free(core.calendar(valentine, start, end))[:2]
        for cell in free:
            core.reserve(valentine, cell.session_id)
        del core

        # Another process syncs and is killed once the server has answered.
        child = subprocess.run(
            [sys.executable, "-c", (
                "import asyncio, os, sys; sys.path.insert(0, os.environ['FAMILLE_CORE_BINDINGS']); "
                "import famille_core as fc; "
                f"core = fc.Core({self.folder!r}, {self.server.url!r}, fc.file_token_store({os.path.join(self.folder, 'tokens.json')!r}), None); "
                "asyncio.run(core.sync())")],
            env=dict(os.environ, FAMILLE_CORE_FAULT="abort_after_push"), capture_output=True)
        self.assertEqual(child.returncode, -signal.SIGABRT, child.stderr.decode())

        core = open_core(self.folder, self.server.url)
        self.assertEqual([q.state for q in core.queue()], ["pending", "pending"], "nothing was recorded")
        report = asyncio.run(core.sync())
        self.assertEqual((report.sent, report.applied), (2, 2), "the server answers the replay with its first answers")
        self.assertEqual(core.queue(), [])
        shown = {c.session_id: c for c in cells(core.calendar(valentine, start, end))}
        agent = self.server.token(AGENT)
        for cell in free:
            self.assertEqual(shown[cell.session_id].state, "reserved")
            roster = self.server.call("GET", f"/api/v1/staff/sessions/{cell.session_id}/roster", agent)
            held = [e for e in roster["entries"] if e["child_id"] == valentine and e["status"] == "reserved"]
            self.assertEqual(len(held), 1, "each reservation once")

    def test_push_registration_and_handling(self):
        core = open_core(self.folder, self.server.url)
        asyncio.run(core.login(*PARENT))
        asyncio.run(core.sync())
        asyncio.run(core.register_device("android", "jeton-python", "fr-FR"))
        with self.assertRaises(fc.CoreError.InvalidInput):
            asyncio.run(core.handle_push({"kind": "sonnerie", "id": "x"}))
        # An unknown reservation still gives the kind's words.
        shown = asyncio.run(core.handle_push({"kind": "waitlist_promoted", "id": "0190a0a0-0000-7000-8000-000000000000"}))
        self.assertEqual(shown.title, "Place libérée (liste d'attente)")
        self.assertTrue(shown.synced)


if __name__ == "__main__":
    unittest.main(verbosity=2)
