"""The core through its generated Python bindings, against a real server.

Run by scripts/test with FAMILLE_SERVER_BIN (the famille-server binary), FAMILLE_PHOTOS
(a folder of test photos) and
FAMILLE_CORE_BINDINGS (a folder holding the package famille_bindings: the generated
famille_core.py and famille_model.py, and libfamille_core.so).
"""

import asyncio
import datetime as dt
import http.server
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request
import zlib

BINDINGS = os.environ["FAMILLE_CORE_BINDINGS"]
sys.path.insert(0, BINDINGS)
from famille_bindings import famille_core as fc  # noqa: E402
from famille_bindings import famille_model as fm  # noqa: E402

PARENT = ("parent@famille.example", "demo-parent-pw")
AGENT = ("agent@famille.example", "demo-agent-pw")
OFFLINE = "http://127.0.0.1:9"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """famille-server serve --demo on a free port, in a temporary folder."""

    def __init__(self, **settings):
        self.dir = tempfile.mkdtemp(prefix="famille-py-server-")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = dict(os.environ, FAMILLE_DATA=self.dir, FAMILLE_LISTEN=f"127.0.0.1:{port}", RUST_LOG="warn", **settings)
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


def late_day(server):
    """A session three days ahead whose free cancellation ended (7 days before) while
    booking is still open (until the day before): an agent creates it."""
    agent = server.token(AGENT)
    rules = {"opening": {"kind": "always"},
             "booking_deadline": {"kind": "days_before", "days": 1, "time": "12:00:00"},
             "cancellation_deadline": {"kind": "days_before", "days": 7, "time": "23:59:00"},
             "late_booking": "refused", "requires_approval": False, "waitlist": False}
    activity = server.call("POST", "/api/v1/staff/activities", agent, {
        "category": "sports", "venue": "Stade de Latresne", "name": "Stage de tennis",
        "eligibility": {}, "rules": rules, "options": ["Journée"]})["id"]
    option = next(a for a in server.call("GET", "/api/v1/staff/activities", agent)
                  if a["id"] == activity)["options"][0]["id"]
    date = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    return server.call("POST", f"/api/v1/staff/activities/{activity}/sessions", agent,
                       {"option_id": option, "date": date, "capacity": 10})["id"]


def day_with_deadlines(server, ahead, booking_days, cancel_days):
    """A session `ahead` days away whose booking and free cancellation end at
    midnight (Paris) `booking_days` and `cancel_days` days before it."""
    agent = server.token(AGENT)
    rules = {"opening": {"kind": "always"},
             "booking_deadline": {"kind": "days_before", "days": booking_days, "time": "00:00:00"},
             "cancellation_deadline": {"kind": "days_before", "days": cancel_days, "time": "00:00:00"},
             "late_booking": "refused", "requires_approval": False, "waitlist": False}
    activity = server.call("POST", "/api/v1/staff/activities", agent, {
        "category": "sports", "venue": "Gymnase de Cénac", "name": f"Stage J+{ahead}",
        "eligibility": {}, "rules": rules, "options": ["Journée"]})["id"]
    option = next(a for a in server.call("GET", "/api/v1/staff/activities", agent)
                  if a["id"] == activity)["options"][0]["id"]
    date = (dt.date.today() + dt.timedelta(days=ahead)).isoformat()
    return server.call("POST", f"/api/v1/staff/activities/{activity}/sessions", agent,
                       {"option_id": option, "date": date, "capacity": 10})["id"]


class Progress(fc.ProgressListener):
    def __init__(self):
        self.steps = []

    def on_progress(self, step, done, total):
        self.steps.append((step, done, total))


def open_core(folder, url, progress=None):
    return fc.Core(folder, url, fc.file_token_store(os.path.join(folder, "tokens.json")), progress)


def left_in(folder):
    """What the core keeps in its folder, beyond its database, the tokens and the
    lock: the family's files that should not be there any more."""
    kept = {"famille-core.db", "famille-core.db-wal", "famille-core.db-shm", "tokens.json", "auth.lock"}
    found = []
    for root, _, files in os.walk(folder):
        for name in files:
            if os.path.relpath(os.path.join(root, name), folder) not in kept:
                found.append(os.path.relpath(os.path.join(root, name), folder))
    return found


def pdf_text(pdf):
    """The text of a PDF as poppler reads it, non-breaking spaces as plain ones."""
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return out.stdout.decode().replace("\u00a0", " ").replace("\u202f", " ")


def cells(days):
    return [c for d in days for c in d.cells]


def window():
    today = dt.date.today()
    return today.isoformat(), (today + dt.timedelta(days=27)).isoformat()


def cancellable_free(days):
    limit = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    return [c for c in cells(days) if c.state == fm.CellState.AVAILABLE
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
        blocked = next(c for c in cells(core.calendar(luc, start, end)) if c.state == fm.CellState.BLOCKED)
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
        self.assertEqual((shown[free[0].session_id].state, shown[free[0].session_id].pending), (fm.CellState.RESERVED, True))
        self.assertEqual(shown[free[0].session_id].reservation_id, kept)
        self.assertEqual(shown[free[1].session_id].state, fm.CellState.AVAILABLE)
        with self.assertRaises(fc.CoreError.Offline):
            asyncio.run(offline.sync())
        self.assertEqual([q.state for q in offline.queue()], [fm.QueueState.PENDING, fm.QueueState.PENDING])
        del offline

        # Restarted from its folder, online again: the server's verdicts.
        core = open_core(self.folder, self.server.url)
        report = asyncio.run(core.sync())
        self.assertEqual((report.sent, report.applied, report.rejected), (2, 1, 1))
        [rejected] = core.queue()
        self.assertEqual((rejected.state, rejected.code), (fm.QueueState.REJECTED, fm.ErrorCode.DOCUMENT_REQUIRED))
        self.assertIn("Carnet de vaccination", rejected.detail)
        shown = {c.session_id: c for c in cells(core.calendar(elena, start, end))}
        self.assertEqual((shown[free[0].session_id].state, shown[free[0].session_id].pending), (fm.CellState.RESERVED, False))
        self.assertTrue(core.dismiss_rejected(rejected.id))
        self.assertEqual(core.queue(), [])
        # Prices shown offline are the server's (its QF's day and the meal).
        token = self.server.token(PARENT)
        served = self.server.call("GET", f"/api/v1/children/{elena}/calendar?from={start}&to={end}", token)
        server_prices = {s["session_id"]: s["price_cents"] for d in served["days"] for s in d["sessions"]}
        shown = cells(core.calendar(elena, start, end))
        self.assertTrue(any(c.price_cents for c in shown))
        for c in shown:
            self.assertEqual(c.price_cents, server_prices[c.session_id], c.option)
            if c.price_cents:
                self.assertTrue(c.price_label.endswith("€"), c.price_label)

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
                "from famille_bindings import famille_core as fc; "
                f"core = fc.Core({self.folder!r}, {self.server.url!r}, fc.file_token_store({os.path.join(self.folder, 'tokens.json')!r}), None); "
                "asyncio.run(core.sync())")],
            env=dict(os.environ, FAMILLE_CORE_FAULT="abort_after_push"), capture_output=True)
        self.assertEqual(child.returncode, -signal.SIGABRT, child.stderr.decode())

        core = open_core(self.folder, self.server.url)
        self.assertEqual([q.state for q in core.queue()], [fm.QueueState.PENDING] * 2, "nothing was recorded")
        report = asyncio.run(core.sync())
        self.assertEqual((report.sent, report.applied), (2, 2), "the server answers the replay with its first answers")
        self.assertEqual(core.queue(), [])
        shown = {c.session_id: c for c in cells(core.calendar(valentine, start, end))}
        agent = self.server.token(AGENT)
        for cell in free:
            self.assertEqual(shown[cell.session_id].state, fm.CellState.RESERVED)
            roster = self.server.call("GET", f"/api/v1/staff/sessions/{cell.session_id}/roster", agent)
            held = [e for e in roster["entries"] if e["child_id"] == valentine and e["status"] == "reserved"]
            self.assertEqual(len(held), 1, "each reservation once")

    def test_a_late_cancellation_is_applied_billed_and_said(self):
        session = late_day(self.server)
        core = open_core(self.folder, self.server.url)
        asyncio.run(core.login(*PARENT))
        asyncio.run(core.sync())
        elena = core.children()[0].id
        start, end = window()
        cell = next(c for c in cells(core.calendar(elena, start, end)) if c.session_id == session)
        self.assertEqual(cell.state, fm.CellState.AVAILABLE, "booking is open, free cancellation is over")
        core.reserve(elena, session)
        self.assertEqual(asyncio.run(core.sync()).applied, 1)
        booked = next(c for c in cells(core.calendar(elena, start, end)) if c.session_id == session)
        self.assertEqual(booked.state, fm.CellState.RESERVED_LOCKED)
        core.cancel(booked.reservation_id)
        shown = next(c for c in cells(core.calendar(elena, start, end)) if c.session_id == session)
        self.assertEqual((shown.state, shown.pending), (fm.CellState.LATE, True), "billed, shown so offline")
        report = asyncio.run(core.sync())
        self.assertEqual((report.sent, report.applied, report.rejected, report.billed), (1, 1, 0, 1))
        [notice] = core.queue()
        self.assertEqual((notice.state, notice.code, notice.billed),
                         (fm.QueueState.APPLIED, fm.ErrorCode.CANCEL_DEADLINE_PASSED, True))
        self.assertTrue(notice.detail.startswith("OUPS"), notice.detail)
        shown = next(c for c in cells(core.calendar(elena, start, end)) if c.session_id == session)
        self.assertEqual((shown.state, shown.pending), (fm.CellState.LATE, False))
        self.assertTrue(core.dismiss_rejected(notice.id), "the parent read it")
        self.assertEqual(core.queue(), [])

    def test_an_issued_invoice_reaches_the_phone_and_reads_offline(self):
        core = open_core(self.folder, self.server.url)
        asyncio.run(core.login(*PARENT))
        asyncio.run(core.sync())
        self.assertEqual(core.invoices(), [])
        # The agent bills last month (the demo's Wednesdays) and issues it.
        agent = self.server.token(AGENT)
        first = dt.date.today().replace(day=1) - dt.timedelta(days=1)
        run = self.server.call("POST", "/api/v1/staff/billing/runs", agent, {"month": first.strftime("%Y-%m")})
        issued = self.server.call("POST", f"/api/v1/staff/billing/runs/{run['id']}/issue", agent)
        [invoice] = [i for i in issued["invoices"] if i["kind"] == "invoice"]
        # The push names only the kind and the id; the core syncs and says the rest.
        shown = asyncio.run(core.handle_push({"kind": "invoice_issued", "id": invoice["id"]}))
        self.assertTrue(shown.synced)
        self.assertEqual(shown.target_id, invoice["id"])
        [listed] = [i for i in core.invoices() if i.id == invoice["id"]]
        self.assertEqual((listed.number, listed.total_cents, listed.status, listed.lines_on_phone),
                         (invoice["number"], invoice["total_cents"], fm.InvoiceStatus.ISSUED, True))
        self.assertEqual(listed.left_to_pay_cents, invoice["total_cents"])
        self.assertTrue(listed.total_label.endswith("€"), listed.total_label)
        self.assertEqual(shown.body, f"{listed.label} : {listed.total_label}")
        self.assertTrue(listed.label.startswith("Facture d"), listed.label)
        pdf = asyncio.run(core.invoice_pdf(invoice["id"]))
        del core

        # Offline, from the folder: the lines add up to the total.
        offline = open_core(self.folder, OFFLINE)
        detail = offline.invoice(invoice["id"])
        self.assertEqual(sum(l.amount_cents for l in detail.lines), invoice["total_cents"])
        self.assertEqual(len(detail.lines), invoice["lines"])
        kinds = {l.kind for l in detail.lines}
        self.assertEqual(kinds, {fm.LineKind.ACTIVITY, fm.LineKind.MEAL, fm.LineKind.SURCHARGE})
        self.assertTrue(all(l.bracket_label for l in detail.lines if l.kind == fm.LineKind.ACTIVITY))
        with self.assertRaises(fc.CoreError.InvalidInput):
            offline.invoice("pas-une-facture")
        # The PDF was kept: it opens offline, and its text holds the number and total.
        self.assertEqual(asyncio.run(offline.invoice_pdf(invoice["id"])), pdf)
        text = pdf_text(pdf)
        self.assertIn(invoice["number"], text)
        self.assertIn(listed.total_label.replace("\u00a0", " ").replace("\u202f", " "), text)
        del offline
        # Logged out: nothing of the family's money stays on the phone.
        core = open_core(self.folder, self.server.url)
        asyncio.run(core.logout(None))
        self.assertEqual(core.invoices(), [])

    def test_push_registration_and_handling(self):
        core = open_core(self.folder, self.server.url)
        asyncio.run(core.login(*PARENT))
        asyncio.run(core.sync())
        asyncio.run(core.register_device(fm.Platform.ANDROID, "jeton-python", "fr-FR"))
        with self.assertRaises(fc.CoreError.InvalidInput):
            asyncio.run(core.handle_push({"kind": "sonnerie", "id": "x"}))
        # An unknown reservation still gives the kind's words.
        shown = asyncio.run(core.handle_push({"kind": "waitlist_promoted", "id": "0190a0a0-0000-7000-8000-000000000000"}))
        self.assertEqual(shown.title, "Place libérée (liste d'attente)")
        self.assertTrue(shown.synced)


# The photos famille-fixtures made (scripts/test), or a corpus of real ones.
PHOTOS = os.environ["FAMILLE_PHOTOS"]
# Photos only famille-fixtures makes (no real counterpart): wide gamut, CMYK, 108 MP.
MADE = os.environ.get("FAMILLE_MADE", os.path.join(PHOTOS, "made"))


class PayfipStandIn:
    """famille-server payfip-standin on a free port: PayFiP's SOAP service and its page."""

    def __init__(self):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.endpoint = self.url + "/tpa/services/securite"
        self.page = self.url + "/tpa/paiementws.web"
        self.process = subprocess.Popen([os.environ["FAMILLE_SERVER_BIN"], "payfip-standin", "--listen", f"127.0.0.1:{port}"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(self.process.stderr.read().decode())
                time.sleep(0.05)
        raise RuntimeError("the PayFiP stand-in did not start")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=10)


def browser_pays(url, resultrans):
    """What the system browser does: opens the PayFiP page, clicks, follows PayFiP
    back to the portal's return page. Gives the return page's address and text."""
    with urllib.request.urlopen(url, timeout=10) as r:
        page = r.read().decode()
    assert "Payer" in page and 'lang="fr"' in page, page
    idop = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["idop"][0]
    form = urllib.parse.urlencode({"idop": idop, "resultrans": resultrans}).encode()
    with urllib.request.urlopen(urllib.request.Request(url.split("?")[0], data=form, method="POST"), timeout=30) as r:
        return r.geturl(), r.read().decode()


class OnlinePayment(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.payfip = PayfipStandIn()
        cls.server = Server(FAMILLE_PAYFIP_ENDPOINT=cls.payfip.endpoint, FAMILLE_PAYFIP_PAGE_URL=cls.payfip.page)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.payfip.stop()

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="famille-py-phone-")

    def tearDown(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def test_an_invoice_paid_through_payfip_reads_paid_offline_with_its_certificate(self):
        core = open_core(self.folder, self.server.url)
        asyncio.run(core.login(*PARENT))
        agent = self.server.token(AGENT)
        first = dt.date.today().replace(day=1) - dt.timedelta(days=1)
        run = self.server.call("POST", "/api/v1/staff/billing/runs", agent, {"month": first.strftime("%Y-%m")})
        issued = self.server.call("POST", f"/api/v1/staff/billing/runs/{run['id']}/issue", agent)
        [invoice] = [i for i in issued["invoices"] if i["kind"] == "invoice"]
        asyncio.run(core.sync())
        [before] = [i for i in core.invoices() if i.id == invoice["id"]]
        self.assertTrue(before.payable_online)

        # The bank refuses: nothing is paid, the parent may try again.
        started = asyncio.run(core.start_payment(invoice["id"]))
        self.assertTrue(started.url.startswith(self.payfip.page), started.url)
        back, page = browser_pays(started.url, "R")
        self.assertTrue(back.startswith(self.server.url + "/api/v1/payfip/return"), back)
        self.assertIn("Paiement refusé", page)
        refused = asyncio.run(core.payment(started.payment_id))
        self.assertEqual((refused.status, refused.settled), (fm.PaymentStatus.REFUSED, True))
        # The parent leaves the page.
        started = asyncio.run(core.start_payment(invoice["id"]))
        browser_pays(started.url, "A")
        self.assertEqual(asyncio.run(core.payment(started.payment_id)).status, fm.PaymentStatus.ABANDONED)
        # And pays, later.
        started = asyncio.run(core.start_payment(invoice["id"]))
        _, page = browser_pays(started.url, "P")
        self.assertIn("Paiement accepté", page)
        paid = asyncio.run(core.payment(started.payment_id))
        self.assertEqual((paid.status, paid.paid_cents, paid.invoice_id),
                         (fm.PaymentStatus.PAID, invoice["total_cents"], invoice["id"]))
        # The year's payment certificate, kept for offline reading with its PDF.
        year = dt.date.today().year
        [certificate] = asyncio.run(core.certificates(year))
        self.assertEqual((certificate.kind, certificate.total_cents), (fm.CertificateKind.PAYMENT, invoice["total_cents"]))
        self.assertTrue(certificate.number.startswith(f"ATT-{year}-"), certificate.number)
        certificate_pdf = asyncio.run(core.certificate_pdf(certificate.id))
        self.assertIn(certificate.number, pdf_text(certificate_pdf))
        # The push names the invoice; the core says it is paid.
        shown = asyncio.run(core.handle_push({"kind": "payment_confirmed", "id": invoice["id"]}))
        self.assertEqual(shown.target_id, invoice["id"])
        del core

        # Offline, from the folder: paid, nothing left, and nothing to pay online.
        offline = open_core(self.folder, OFFLINE)
        [listed] = [i for i in offline.invoices() if i.id == invoice["id"]]
        self.assertEqual((listed.status, listed.left_to_pay_cents, listed.payable_online),
                         (fm.InvoiceStatus.PAID, 0, False))
        with self.assertRaises(fc.CoreError.Rejected) as no:
            asyncio.run(offline.start_payment(invoice["id"]))
        self.assertEqual(no.exception.code, fm.ErrorCode.INVOICE_SETTLED)
        self.assertEqual([c.number for c in asyncio.run(offline.certificates(year))], [certificate.number])
        self.assertEqual(asyncio.run(offline.certificate_pdf(certificate.id)), certificate_pdf)
        del offline


def photo(name):
    with open(os.path.join(PHOTOS, name), "rb") as f:
        return f.read()


class Documents(unittest.TestCase):
    """The guide's case n°1: a vaccination record to send, validated, and Luc may book."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="famille-py-docs-")

    def tearDown(self):
        os.environ.pop("FAMILLE_CORE_FAULT", None)
        shutil.rmtree(self.folder, ignore_errors=True)

    def test_a_photographed_carnet_unblocks_luc(self):
        progress = Progress()
        core = open_core(self.folder, self.server.url, progress)
        asyncio.run(core.login(*PARENT))
        asyncio.run(core.sync())
        luc = core.children()[2].id
        start, end = window()
        blocked = next(c for c in cells(core.calendar(luc, start, end)) if c.state == fm.CellState.BLOCKED)
        self.assertEqual(blocked.blocked_by, fm.BlockedBy.DOCUMENT_REQUIRED)
        self.assertTrue(any(a.child_id == luc for a in core.alerts()))

        # Two photos: one turned by its EXIF tag, one carrying GPS coordinates.
        rotated, gps = photo("orientation/portrait_6.jpg"), photo("gps_nikon_DSCN0010.jpg")
        self.assertTrue(b"WGS-84" in gps, "the fixture carries GPS tags (map datum WGS-84)")
        options = fc.default_capture_options()
        captured = asyncio.run(core.capture_document([rotated, gps], options))
        self.assertEqual(captured.filename, "document.pdf")
        self.assertTrue(captured.bytes.startswith(b"%PDF-"))
        self.assertEqual(len(captured.pages), 2)
        self.assertGreater(captured.pages[0].height, captured.pages[0].width, "upright: portrait")
        self.assertTrue(captured.pages[1].quality.too_small)
        for marker in (b"Exif", b"WGS-84", b"NIKON"):
            self.assertFalse(marker in captured.bytes, f"{marker} survived capture")
        self.assertIn(("capture", 2, 2), progress.steps)

        sent = core.send_document("carnet_vaccination", luc, captured.bytes, "carnet.pdf")
        # The network goes in the middle of the upload.
        os.environ["FAMILLE_CORE_FAULT"] = "cut_upload_midway"
        with self.assertRaises(fc.CoreError.Offline):
            asyncio.run(core.sync())
        del os.environ["FAMILLE_CORE_FAULT"]
        [outgoing] = core.outgoing_documents()
        self.assertEqual(outgoing.state, fc.UploadState.PENDING)
        self.assertTrue(0 < outgoing.sent_bytes < outgoing.total_bytes, outgoing)
        del core

        # The app restarts and resumes where it stopped.
        core = open_core(self.folder, self.server.url)
        report = asyncio.run(core.sync())
        self.assertEqual(report.documents_sent, 1)
        [outgoing] = core.outgoing_documents()
        self.assertEqual((outgoing.id, outgoing.state, outgoing.sent_bytes), (sent, fc.UploadState.SENT, outgoing.total_bytes))
        mine = {d.id: d for d in core.documents()}
        self.assertTrue(mine[outgoing.document_id].status_label.startswith("Déposé le"))

        # An agent validates it.
        agent = self.server.token(AGENT)
        pending = self.server.call("GET", "/api/v1/staff/documents?status=pending", agent)
        self.assertIn(outgoing.document_id, [d["id"] for d in pending])
        self.server.call("POST", f"/api/v1/staff/documents/{outgoing.document_id}/validate", agent, {"valid_until": None})

        asyncio.run(core.sync())
        self.assertFalse(any(a.child_id == luc for a in core.alerts()))
        self.assertEqual({d.id: d for d in core.documents()}[outgoing.document_id].status_label, "Validé")
        cell = next(c for c in cells(core.calendar(luc, start, end)) if c.session_id == blocked.session_id)
        self.assertNotEqual(cell.state, fm.CellState.BLOCKED)
        core.reserve(luc, blocked.session_id)
        report = asyncio.run(core.sync())
        self.assertEqual((report.sent, report.applied), (1, 1))
        self.assertEqual(left_in(self.folder), [], "the sent file left the phone")

    def test_what_phones_really_write_makes_a_page(self):
        core = open_core(self.folder, self.server.url)

        def one_page(data, **settings):
            options = fc.default_capture_options()
            for key, value in settings.items():
                setattr(options, key, value)
            [page] = asyncio.run(core.capture_document([data], options)).pages
            return page

        # Sheets on desks: straightened whole, or kept as taken and said so.
        straightened = 0
        for n in range(3, 9):
            name = f"documents/test{n}.jpg"
            page = one_page(photo(name), detect_page=True)
            self.assertIn(page.page_search, (fc.PageSearch.STRAIGHTENED, fc.PageSearch.KEPT_WHOLE, fc.PageSearch.NOT_FOUND), name)
            if page.page_search == fc.PageSearch.STRAIGHTENED:
                straightened += 1
                self.assertEqual(len(page.sheet_corners), 4, name)
                self.assertTrue(all(0 <= c.x <= 1 and 0 <= c.y <= 1 for c in page.sheet_corners), name)
            else:
                self.assertEqual(page.sheet_corners, [], name)
                plain = one_page(photo(name))
                self.assertEqual((page.width, page.height), (plain.width, plain.height), f"{name} kept as taken")
        self.assertGreaterEqual(straightened, 2)
        # An iPhone's Display P3 photo: converted, its profile not carried over.
        with open(os.path.join(MADE, "display_p3.jpg"), "rb") as f:
            wide = f.read()
        self.assertIn(b"ICC_PROFILE", wide)
        self.assertNotIn(b"ICC_PROFILE", one_page(wide).jpeg)
        # A CMYK JPEG takes the document look.
        with open(os.path.join(MADE, "cmyk.jpg"), "rb") as f:
            page = one_page(f.read(), document_look=True)
        self.assertEqual((page.width, page.height), (400, 300))
        # 108 MP: decoded at a reduced scale into the 2,000 px page.
        with open(os.path.join(MADE, "108mp.jpg"), "rb") as f:
            page = one_page(f.read())
        self.assertEqual((page.width, page.height), (2000, 1500))

    def test_bad_files_are_refused_before_and_by_the_server(self):
        core = open_core(self.folder, self.server.url)
        asyncio.run(core.login(*PARENT))
        asyncio.run(core.sync())
        luc = core.children()[2].id
        with self.assertRaises(fc.CoreError.InvalidInput):
            asyncio.run(core.capture_document([photo("iphone_13_pro_max.HEIC")], fc.default_capture_options()))
        with self.assertRaises(fc.CoreError.Rejected) as fake:
            core.send_document("carnet_vaccination", luc, b"MZ\x90\x00" * 100, "carnet.jpg")
        self.assertEqual(fake.exception.code, fm.ErrorCode.UNSUPPORTED_FILE_TYPE)
        # A PNG with its header and nothing else: the phone says it before sending.
        ihdr = b"IHDR" + struct.pack(">IIBBBBB", 800, 600, 8, 0, 0, 0, 0)
        header_only = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
        self.assertEqual(len(header_only), 33)
        with self.assertRaises(fc.CoreError.Rejected) as damaged:
            core.send_document("carnet_vaccination", luc, header_only, "carnet.png")
        self.assertEqual(damaged.exception.code, fm.ErrorCode.DAMAGED_FILE)
        self.assertIn("abîmé", damaged.exception.detail)
        self.assertEqual(core.outgoing_documents(), [])
        # The server refuses what the phone let through: an unknown type.
        core.send_document("passeport", luc, photo("gps_nikon_DSCN0010.jpg"), "photo.jpg")
        report = asyncio.run(core.sync())
        self.assertEqual(report.documents_rejected, 1)
        [refused] = core.outgoing_documents()
        self.assertEqual((refused.state, refused.code), (fc.UploadState.REJECTED, fm.ErrorCode.UNKNOWN_DOCUMENT_TYPE))
        self.assertIn("passeport", refused.detail)
        self.assertEqual(left_in(self.folder), [], "a refused file is not kept")
        self.assertTrue(core.forget_outgoing(refused.id))
        self.assertEqual(left_in(self.folder), [])


class Messages(unittest.TestCase):
    """The MESSAGES tab: a message written offline with a photo, sent after the
    photo even when the app is killed between the two; answered, read on both
    sides; an attachment the server refuses fails the message visibly."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="famille-py-messages-")

    def tearDown(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def test_a_message_goes_after_its_photo_across_a_restart_and_is_read_on_both_sides(self):
        core = open_core(self.folder, self.server.url)
        asyncio.run(core.login(*PARENT))
        asyncio.run(core.sync())
        services = {s.name: s.id for s in core.services()}
        self.assertIn("Enfance-jeunesse", services)
        [demo] = core.threads()
        self.assertEqual((demo.subject, demo.state), ("Vacances de Noël", fc.MessageState.SENT))
        del core

        # Offline: Luc is ill this morning; a photo of the certificate goes with it.
        offline = open_core(self.folder, OFFLINE)
        picture = photo("gps_nikon_DSCN0010.jpg")
        attachment = offline.attach_file(picture, "certificat.jpg")
        with self.assertRaises(fc.CoreError.InvalidInput):
            offline.send_message(None, services["Enfance-jeunesse"], "Luc est malade", "   ", [])
        with self.assertRaises(fc.CoreError.InvalidInput):
            offline.send_message(None, services["Enfance-jeunesse"], "Luc est malade", "Voici", ["0190a0a0-0000-7000-8000-000000000000"])
        with self.assertRaises(fc.CoreError.InvalidInput):
            offline.send_message(None, services["Enfance-jeunesse"], None, "Sans objet", [])
        intent = offline.send_message(None, services["Enfance-jeunesse"], "Luc est malade",
                                      "Bonjour,\nLuc a de la fièvre ce matin.", [attachment])
        first = offline.threads()[0]
        self.assertEqual((first.id, first.subject, first.state), (intent, "Luc est malade", fc.MessageState.PENDING))
        [waiting] = offline.thread(intent).messages
        self.assertEqual(waiting.state, fc.MessageState.PENDING)
        self.assertTrue(waiting.attachments[0].on_phone)
        self.assertEqual(offline.outgoing_documents(), [], "an attachment is not a dossier document")
        with self.assertRaises(fc.CoreError.Offline):
            asyncio.run(offline.sync())
        del offline

        # Online again, the app is killed once the photo is in, before the message left.
        child = subprocess.run(
            [sys.executable, "-c", (
                "import asyncio, os, sys; sys.path.insert(0, os.environ['FAMILLE_CORE_BINDINGS']); "
                "from famille_bindings import famille_core as fc; "
                f"core = fc.Core({self.folder!r}, {self.server.url!r}, fc.file_token_store({os.path.join(self.folder, 'tokens.json')!r}), None); "
                "asyncio.run(core.sync())")],
            env=dict(os.environ, FAMILLE_CORE_FAULT="abort_after_uploads"), capture_output=True)
        self.assertEqual(child.returncode, -signal.SIGABRT, child.stderr.decode())
        agent = self.server.token(AGENT)
        inbox = self.server.call("GET", "/api/v1/staff/threads", agent)
        self.assertNotIn("Luc est malade", [t["subject"] for t in inbox], "the message waited")

        core = open_core(self.folder, self.server.url)
        self.assertEqual(core.thread(intent).messages[0].state, fc.MessageState.PENDING)
        report = asyncio.run(core.sync())
        self.assertEqual((report.sent, report.applied), (1, 1))
        sick = next(t for t in core.threads() if t.subject == "Luc est malade")
        self.assertEqual(sick.state, fc.MessageState.SENT)
        [sent] = core.thread(sick.id).messages
        self.assertEqual((sent.state, sent.read, sent.attachments[0].content_type), (fc.MessageState.SENT, False, "image/jpeg"))
        self.assertEqual(asyncio.run(core.attachment(sick.id, sent.attachments[0].id)), picture)
        self.assertEqual(left_in(self.folder), [], "the sent photo left the phone")

        # The agent reads it and answers; the phone shows « lu » and the answer.
        staff = self.server.call("GET", f"/api/v1/staff/threads/{sick.id}", agent)
        self.server.call("POST", f"/api/v1/staff/threads/{sick.id}/read", agent, {"up_to": staff["messages"][-1]["created_at"]})
        self.server.call("POST", f"/api/v1/staff/threads/{sick.id}/messages", agent, {"body": "Bon rétablissement à Luc."})
        asyncio.run(core.sync())
        summary = next(t for t in core.threads() if t.id == sick.id)
        self.assertEqual(summary.unread, 1)
        mine, answer = core.thread(sick.id).messages
        self.assertTrue(mine.read, "the services read it")
        self.assertEqual((answer.from_family, answer.author, answer.body), (False, "Enfance-jeunesse", "Bon rétablissement à Luc."))

        # The parent opens it (offline first): read here at once, on the server after sync.
        del core
        offline = open_core(self.folder, OFFLINE)
        offline.mark_thread_read(sick.id)
        self.assertEqual(next(t for t in offline.threads() if t.id == sick.id).unread, 0)
        del offline
        core = open_core(self.folder, self.server.url)
        asyncio.run(core.sync())
        staff = self.server.call("GET", f"/api/v1/staff/threads/{sick.id}", agent)
        self.assertTrue(staff["messages"][-1]["read"], "the family read the answer")
        self.assertEqual(core.queue(), [])

    def test_a_message_whose_photo_the_server_refuses_fails_visibly(self):
        # A server that takes smaller files than the phone knew.
        small = Server(FAMILLE_MAX_UPLOAD_BYTES="4096")
        try:
            core = open_core(self.folder, small.url)
            asyncio.run(core.login(*PARENT))
            token = small.token(PARENT)
            service = small.call("GET", "/api/v1/services", token)[0]["id"]
            picture = photo("gps_nikon_DSCN0010.jpg")
            self.assertGreater(len(picture), 4096)
            attachment = core.attach_file(picture, "photo.jpg")
            intent = core.send_message(None, service, "Photo", "La voici.", [attachment])
            report = asyncio.run(core.sync())
            self.assertEqual(report.rejected, 1)
            [refused] = core.thread(intent).messages
            self.assertEqual(refused.state, fc.MessageState.REFUSED)
            self.assertTrue(refused.attachments[0].refused)
            [queued] = core.queue()
            self.assertEqual((queued.state, queued.code), (fm.QueueState.REJECTED, fm.ErrorCode.UPLOAD_REFUSED))
            self.assertEqual(small.call("GET", "/api/v1/threads", token)[0]["subject"], "Vacances de Noël", "nothing sent")
        finally:
            small.stop()


class Portal:
    """What a hotel or train Wi-Fi does before its login page is accepted: every
    request answered by the network, not the server. `page`: 200 with an HTML page;
    `redirect`: 302 to the login page; `proxy`: 403 with the proxy's HTML."""

    def __init__(self):
        self.mode = "page"
        portal = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self):
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                page = b"<html><body>Bienvenue ! Acceptez les conditions pour vous connecter.</body></html>"
                status = {"page": 200, "redirect": 302, "proxy": 403}[portal.mode]
                self.send_response(status)
                if portal.mode == "redirect":
                    self.send_header("location", "http://portail-wifi.example/login")
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(page)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(page)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = answer

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()


def at_once(snippet, folders, url):
    """Runs `snippet` in one process per folder, all starting at the same instant;
    each sees `core` opened on its folder. Returns their exit codes and errors."""
    start = time.time() + 0.7  # after the imports (about 0.2 s), the same instant
    procs = []
    for folder in folders:
        # Each ends with os._exit: the core's threads must not meet an interpreter
        # that is shutting down (CPython ends threads that wait for it abruptly).
        code = (
            "import asyncio, os, sys, time, traceback; sys.path.insert(0, os.environ['FAMILLE_CORE_BINDINGS']); "
            "from famille_bindings import famille_core as fc; "
            f"time.sleep(max(0, {start} - time.time()))\n"
            "try:\n"
            f"    core = fc.Core({folder!r}, {url!r}, fc.file_token_store({os.path.join(folder, 'tokens.json')!r}), None)\n"
            f"    {snippet}\n"
            "except BaseException:\n"
            "    traceback.print_exc(); sys.stderr.flush(); os._exit(1)\n"
            "sys.stderr.flush(); os._exit(0)\n"
        )
        procs.append(subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE))
    results = []
    for p in procs:
        _, err = p.communicate(timeout=60)
        results.append((p.returncode, err.decode()))
    return results


class SlowUplink:
    """A TCP relay to the server whose upstream (phone to server) carries
    `rate` bytes a second, as a weak mobile signal does; answers come at once."""

    def __init__(self, target_port, rate):
        self.rate = rate
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.target_port = target_port
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self.pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self.pipe, args=(upstream, client, False), daemon=True).start()

    def pipe(self, source, sink, slow):
        try:
            while True:
                data = source.recv(1024 if slow else 65536)
                if not data:
                    break
                sink.sendall(data)
                if slow:
                    time.sleep(len(data) / self.rate)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def stop(self):
        self.listener.close()


class PhoneConditions(unittest.TestCase):
    """What phones live through: captive Wi-Fi portals, …"""

    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.portal = Portal()

    @classmethod
    def tearDownClass(cls):
        cls.portal.stop()
        cls.server.stop()

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="famille-py-conditions-")

    def tearDown(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def test_a_wifi_login_page_is_not_a_verdict(self):
        core = open_core(self.folder, self.server.url)
        asyncio.run(core.login(*PARENT))
        asyncio.run(core.sync())
        children = core.children()
        elena, luc = children[0].id, children[2].id
        start, end = window()
        free = cancellable_free(core.calendar(elena, start, end))
        del core

        # Behind the portal: a booking and a vaccination record queued, then sync.
        behind = open_core(self.folder, self.portal.url)
        behind.reserve(elena, free[0].session_id)
        behind.send_document("carnet_vaccination", luc, photo("gps_nikon_DSCN0010.jpg"), "carnet.jpg")
        tokens_path = os.path.join(self.folder, "tokens.json")
        for mode in ("page", "redirect", "proxy"):
            self.portal.mode = mode
            if mode == "proxy":
                # The access token runs out behind the proxy: the refresh meets the
                # proxy's 403 page, which must not log the parent out.
                with open(tokens_path) as f:
                    tokens = json.load(f)
                tokens["access_expires_at"] = 0
                with open(tokens_path, "w") as f:
                    json.dump(tokens, f)
            with self.assertRaises(fc.CoreError.NetworkToValidate) as caught:
                asyncio.run(behind.sync())
            self.assertIn("Wi-Fi", caught.exception.detail)
            self.assertEqual([q.state for q in behind.queue()], [fm.QueueState.PENDING], mode)
            self.assertEqual([d.state for d in behind.outgoing_documents()], [fc.UploadState.PENDING], mode)
            self.assertTrue(behind.is_logged_in(), mode)
        # A login behind the portal is not refused either: the network is.
        with self.assertRaises(fc.CoreError.NetworkToValidate):
            asyncio.run(behind.login(*PARENT))
        del behind

        # On a real network, everything goes.
        core = open_core(self.folder, self.server.url)
        report = asyncio.run(core.sync())
        self.assertEqual((report.sent, report.applied, report.documents_sent), (1, 1, 1))
        self.assertEqual(core.queue(), [])

    def test_an_app_and_its_extension_share_one_folder(self):
        # Both open a new folder at the same instant, a dozen times.
        for n in range(12):
            folder = os.path.join(self.folder, f"new-{n}")
            results = at_once("core.queue()", [folder, folder], self.server.url)
            self.assertEqual([code for code, _ in results], [0, 0], results)
        # Both find the access token expired and refresh it at the same instant.
        core = open_core(self.folder, self.server.url)
        asyncio.run(core.login(*PARENT))
        asyncio.run(core.sync())
        elena = core.children()[0].id
        start, end = window()
        free = cancellable_free(core.calendar(elena, start, end))
        del core
        tokens_path = os.path.join(self.folder, "tokens.json")
        for round in range(5):
            with open(tokens_path) as f:
                tokens = json.load(f)
            tokens["access_expires_at"] = 0
            with open(tokens_path, "w") as f:
                json.dump(tokens, f)
            results = at_once("asyncio.run(core.sync())", [self.folder, self.folder], self.server.url)
            self.assertEqual([code for code, _ in results], [0, 0], results)
        core = open_core(self.folder, self.server.url)
        self.assertTrue(core.is_logged_in())
        asyncio.run(core.sync())
        # Both book the same day at the same instant: one intent, one refusal said at once.
        day = free[0].session_id
        results = at_once(f"core.reserve({elena!r}, {day!r})", [self.folder, self.folder], self.server.url)
        self.assertEqual(sorted(code for code, _ in results), [0, 1], results)
        self.assertTrue(any("ALREADY_BOOKED" in err or "AlreadyBooked" in err or "déjà" in err for _, err in results), results)
        self.assertEqual([q.kind for q in core.queue()], [fm.IntentKind.RESERVE])
        report = asyncio.run(core.sync())
        self.assertEqual((report.sent, report.applied, report.rejected), (1, 1, 0))

    def test_a_slow_uplink_still_makes_progress(self):
        core = open_core(self.folder, self.server.url)
        asyncio.run(core.login(*PARENT))
        asyncio.run(core.sync())
        luc = core.children()[2].id
        # Three pages: more than a 2-second piece can carry at 20 kB/s.
        captured = asyncio.run(core.capture_document([photo("gps_nikon_DSCN0010.jpg"), photo("orientation/portrait_6.jpg"),
                                                      photo("orientation/landscape_1.jpg")], fc.default_capture_options()))
        self.assertGreater(len(captured.bytes), 2 * 20_000)
        core.send_document("carnet_vaccination", luc, captured.bytes, captured.filename)
        del core
        # 20 kB/s up, and a piece may take 2 s: the first pieces time out, then
        # smaller ones go through, in the same sync.
        port = int(self.server.url.rsplit(":", 1)[1])
        slow = SlowUplink(port, 20_000)
        os.environ["FAMILLE_CORE_PIECE_TIMEOUT_MS"] = "2000"
        try:
            behind = open_core(self.folder, slow.url)
            report = asyncio.run(behind.sync())
            self.assertEqual(report.documents_sent, 1, report)
            [sent] = behind.outgoing_documents()
            self.assertEqual(sent.state, fc.UploadState.SENT)
        finally:
            os.environ.pop("FAMILLE_CORE_PIECE_TIMEOUT_MS", None)
            slow.stop()

    def test_what_the_server_will_refuse_is_said_before_queuing(self):
        small = Server(FAMILLE_MAX_UPLOAD_BYTES="122880")
        try:
            core = open_core(self.folder, small.url)
            asyncio.run(core.login(*PARENT))
            asyncio.run(core.sync())
            self.assertEqual(core.upload_limit(), 122880, "learnt from Tus-Max-Size")
            luc = core.children()[2].id
            pages = [photo("gps_nikon_DSCN0010.jpg"), photo("orientation/portrait_6.jpg"), photo("orientation/landscape_1.jpg")] * 3
            # Nine pages at the parent's settings are over the limit: made lighter to fit.
            fitted = asyncio.run(core.capture_document(pages, fc.default_capture_options()))
            self.assertLessEqual(len(fitted.bytes), 122880)
            # The document look is not heavier than colour.
            look = fc.default_capture_options()
            look.document_look = True
            grey = asyncio.run(core.capture_document(pages[:3], look))
            colour = asyncio.run(core.capture_document(pages[:3], fc.default_capture_options()))
            self.assertLessEqual(len(grey.bytes), len(colour.bytes))
            # Too many pages even at the lightest: said at once, with the limit.
            with self.assertRaises(fc.CoreError.Rejected) as heavy:
                asyncio.run(core.capture_document(pages * 4, fc.default_capture_options()))
            self.assertEqual(heavy.exception.code, fm.ErrorCode.UPLOAD_TOO_LARGE)
            self.assertIn("0,1 Mo au plus", heavy.exception.detail)
            # A file over the limit is not queued.
            with self.assertRaises(fc.CoreError.Rejected) as refused:
                core.send_document("carnet_vaccination", luc, bytes(130_000), "carnet.pdf")
            self.assertEqual(refused.exception.code, fm.ErrorCode.UPLOAD_TOO_LARGE)
            self.assertEqual(core.outgoing_documents(), [])
            # What fits goes.
            core.send_document("carnet_vaccination", luc, fitted.bytes, fitted.filename)
            self.assertEqual(asyncio.run(core.sync()).documents_sent, 1)
        finally:
            small.stop()

    def test_deadlines_are_judged_on_the_servers_time(self):
        # Booking closed at midnight (less than a day ago); free cancellation too.
        closing = day_with_deadlines(self.server, ahead=1, booking_days=1, cancel_days=1)
        late = day_with_deadlines(self.server, ahead=3, booking_days=1, cancel_days=3)
        os.environ["FAMILLE_CORE_CLOCK_SKEW"] = str(-26 * 3600)
        try:
            core = open_core(self.folder, self.server.url)
            self.assertFalse(core.clock().known)
            self.assertIn("pas encore connue", core.clock().warning)
            asyncio.run(core.login(*PARENT))
            asyncio.run(core.sync())
            clock = core.clock()
            self.assertTrue(clock.known)
            self.assertLess(abs(clock.offset_seconds - 26 * 3600), 5, clock)
            self.assertIn("26 heures", clock.warning)
            elena = core.children()[0].id
            start, end = window()
            shown = {c.session_id: c for c in cells(core.calendar(elena, start, end))}
            self.assertEqual(shown[closing].state, fm.CellState.CLOSED, "the phone's clock would say open")
            self.assertFalse(shown[closing].time_unsure)
            self.assertEqual(shown[late].state, fm.CellState.AVAILABLE)
            core.reserve(elena, late)
            self.assertEqual(asyncio.run(core.sync()).applied, 1)
            booked = next(c for c in cells(core.calendar(elena, start, end)) if c.session_id == late)
            self.assertEqual(booked.state, fm.CellState.RESERVED_LOCKED, "free cancellation is over")
            core.cancel(booked.reservation_id)
            del core
            # Offline and restarted: the offset was kept, the cancellation is billed.
            offline = open_core(self.folder, OFFLINE)
            self.assertTrue(offline.clock().known)
            cell = next(c for c in cells(offline.calendar(elena, start, end)) if c.session_id == late)
            self.assertEqual((cell.state, cell.pending), (fm.CellState.LATE, True), "not a free « Annulation »")
        finally:
            os.environ.pop("FAMILLE_CORE_CLOCK_SKEW", None)


if __name__ == "__main__":
    unittest.main(verbosity=2)
