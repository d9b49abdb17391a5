// The core through its generated Kotlin bindings, on the JVM with JNA, against a
// real server started here (famille-server serve --demo on a free port).
// Run by scripts/test: FAMILLE_SERVER_BIN names the server binary; the JVM finds
// libfamille_core.so through -Djna.library.path.

import fr.portailfamille.core.*
import fr.portailfamille.model.*
import java.io.File
import java.net.HttpURLConnection
import java.net.ServerSocket
import java.net.URL
import java.nio.file.Files
import java.time.LocalDate
import java.time.OffsetDateTime
import kotlinx.coroutines.runBlocking

fun check(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionError(message())
}

/** famille-server payfip-standin on a free port: PayFiP's SOAP service and its page. */
class PayfipStandIn : AutoCloseable {
    val url: String
    private val process: Process

    init {
        val port = ServerSocket(0).use { it.localPort }
        url = "http://127.0.0.1:$port"
        val builder = ProcessBuilder(System.getenv("FAMILLE_SERVER_BIN"), "payfip-standin", "--listen", "127.0.0.1:$port")
        builder.redirectOutput(ProcessBuilder.Redirect.DISCARD)
        builder.redirectError(ProcessBuilder.Redirect.INHERIT)
        process = builder.start()
        var up = false
        for (i in 0 until 300) {
            try {
                java.net.Socket("127.0.0.1", port).close(); up = true; break
            } catch (e: java.io.IOException) {
                Thread.sleep(50)
            }
        }
        check(up) { "the PayFiP stand-in did not start" }
    }

    override fun close() {
        process.destroy()
        process.waitFor()
    }
}

/** What the system browser does on PayFiP's page: clicks, and follows PayFiP back. */
fun browserPays(pageUrl: String, resultrans: String): String {
    val page = (URL(pageUrl).openConnection() as HttpURLConnection).inputStream.use { String(it.readAllBytes()) }
    check("Payer" in page) { page }
    val idop = pageUrl.substringAfter("idop=")
    val c = URL(pageUrl.substringBefore("?")).openConnection() as HttpURLConnection
    c.requestMethod = "POST"
    c.instanceFollowRedirects = false
    c.doOutput = true
    c.setRequestProperty("content-type", "application/x-www-form-urlencoded")
    c.outputStream.use { it.write("idop=$idop&resultrans=$resultrans".toByteArray()) }
    check(c.responseCode in 300..399) { "PayFiP's page answered ${c.responseCode}" }
    val back = URL(c.getHeaderField("location")).openConnection() as HttpURLConnection
    return back.inputStream.use { String(it.readAllBytes()) }
}

class Server(private val settings: Map<String, String> = emptyMap()) : AutoCloseable {
    val dir: File = Files.createTempDirectory("famille-kt-server-").toFile()
    val url: String
    private val process: Process

    init {
        val port = ServerSocket(0).use { it.localPort }
        url = "http://127.0.0.1:$port"
        val builder = ProcessBuilder(System.getenv("FAMILLE_SERVER_BIN"), "serve", "--demo")
        builder.environment().apply {
            put("FAMILLE_DATA", dir.path)
            put("FAMILLE_LISTEN", "127.0.0.1:$port")
            put("RUST_LOG", "warn")
            remove("DATABASE_URL")
            putAll(settings)
        }
        builder.redirectOutput(ProcessBuilder.Redirect.DISCARD)
        builder.redirectError(ProcessBuilder.Redirect.INHERIT)
        process = builder.start()
        var up = false
        for (i in 0 until 300) {
            try {
                val c = URL("$url/health").openConnection() as HttpURLConnection
                if (c.responseCode == 200) { up = true; break }
            } catch (e: java.io.IOException) {
                Thread.sleep(50)
            }
        }
        check(up) { "the server did not start" }
    }

    /** A JSON call; the answer's text. */
    fun call(method: String, path: String, token: String?, body: String?): String {
        val c = URL("$url$path").openConnection() as HttpURLConnection
        c.requestMethod = method
        c.setRequestProperty("content-type", "application/json")
        if (token != null) c.setRequestProperty("authorization", "Bearer $token")
        if (body != null) {
            c.doOutput = true
            c.outputStream.use { it.write(body.toByteArray()) }
        }
        check(c.responseCode in 200..299) { "$method $path: ${c.responseCode}" }
        return c.inputStream.use { String(it.readAllBytes()) }
    }

    fun agentToken(): String = field(
        call("POST", "/api/v1/auth/login", null,
            """{"email":"agent@famille.example","password":"demo-agent-pw","remember_me":false}"""),
        "access_token")

    override fun close() {
        process.destroy()
        process.waitFor()
        dir.deleteRecursively()
    }
}

/** A string field of a JSON answer (the scenario needs no JSON library). */
fun field(json: String, name: String): String =
    Regex(""""$name":"([^"]+)"""").find(json)?.groupValues?.get(1) ?: throw AssertionError("no $name in $json")

/**
 * A session three days ahead whose free cancellation ended (seven days before)
 * while booking is still open (until the day before), created by an agent.
 */
fun lateDay(server: Server): String {
    val agent = server.agentToken()
    val rules = """{"opening":{"kind":"always"},""" +
        """"booking_deadline":{"kind":"days_before","days":1,"time":"12:00:00"},""" +
        """"cancellation_deadline":{"kind":"days_before","days":7,"time":"23:59:00"},""" +
        """"late_booking":"refused","requires_approval":false,"waitlist":false}"""
    val activity = field(server.call("POST", "/api/v1/staff/activities", agent,
        """{"category":"sports","venue":"Stade de Latresne","name":"Stage de tennis","eligibility":{},"rules":$rules,"options":["Journée"]}"""), "id")
    val listed = server.call("GET", "/api/v1/staff/activities", agent, null)
    val option = Regex(""""id":"$activity".*?"options":\[\{"id":"([0-9a-f-]{36})"""")
        .find(listed)?.groupValues?.get(1) ?: throw AssertionError("no option in $listed")
    val date = LocalDate.now().plusDays(3).toString()
    return field(server.call("POST", "/api/v1/staff/activities/$activity/sessions", agent,
        """{"option_id":"$option","date":"$date","capacity":10}"""), "id")
}

class Steps : ProgressListener {
    val seen = mutableListOf<String>()
    override fun onProgress(step: String, done: ULong, total: ULong) {
        seen.add(step)
    }
}

fun openCore(folder: File, url: String, progress: ProgressListener? = null): Core =
    Core(folder.path, url, fileTokenStore(File(folder, "tokens.json").path), progress)

fun cells(days: List<DayView>): List<CellView> = days.flatMap { it.cells }

fun main() = runBlocking {
    val payfip = PayfipStandIn()
    Server(mapOf(
        "FAMILLE_PAYFIP_ENDPOINT" to "${payfip.url}/tpa/services/securite",
        "FAMILLE_PAYFIP_PAGE_URL" to "${payfip.url}/tpa/paiementws.web",
    )).use { server ->
        val folder = Files.createTempDirectory("famille-kt-phone-").toFile()
        val from = LocalDate.now().toString()
        val to = LocalDate.now().plusDays(27).toString()
        val steps = Steps()

        openCore(folder, server.url, steps).use { core ->
            core.login("parent@famille.example", "demo-parent-pw")
            val report = core.sync()
            check(report.changes > 0u) { "nothing received: $report" }
            check("réception" in steps.seen) { "no progress reported: ${steps.seen}" }
        }

        // Offline: two days booked, one withdrawn.
        var elena = ""
        var kept = ""
        var freeDays = listOf<CellView>()
        openCore(folder, "http://127.0.0.1:9").use { offline ->
            val children = offline.children()
            check(children.map { it.firstName } == listOf("Elena", "Valentine", "Luc", "Chloé")) { "$children" }
            elena = children[0].id
            val limit = OffsetDateTime.now().plusDays(1)
            freeDays = cells(offline.calendar(elena, from, to)).filter {
                it.state == CellState.AVAILABLE && OffsetDateTime.parse(it.cancellationDeadline).isAfter(limit)
            }
            check(freeDays.size >= 2) { "no free days: $freeDays" }
            kept = offline.reserve(elena, freeDays[0].sessionId)
            offline.cancel(offline.reserve(elena, freeDays[1].sessionId))
            val shown = cells(offline.calendar(elena, from, to)).associateBy { it.sessionId }
            check(shown[freeDays[0].sessionId]!!.state == CellState.RESERVED && shown[freeDays[0].sessionId]!!.pending) { "${shown[freeDays[0].sessionId]}" }
            check(shown[freeDays[1].sessionId]!!.state == CellState.AVAILABLE) { "${shown[freeDays[1].sessionId]}" }
            try {
                offline.sync()
                throw AssertionError("sync without network must fail")
            } catch (e: CoreException.Offline) {
                // expected: the queue is kept
            }
            check(offline.queue().map { it.state } == listOf(QueueState.PENDING)) { "${offline.queue()}" }
            try {
                offline.calendar(elena, "demain", to)
                throw AssertionError("a bad date must be refused")
            } catch (e: CoreException.InvalidInput) {
                check(e.detail.contains("date invalide")) { e.detail }
            }
        }

        // Restarted from its folder, online: the server's verdict.
        openCore(folder, server.url).use { core ->
            val report = core.sync()
            check(report.sent == 1u && report.applied == 1u) { "$report" }
            check(core.queue().isEmpty()) { "${core.queue()}" }
            val cell = cells(core.calendar(elena, from, to)).first { it.sessionId == freeDays[0].sessionId }
            check(cell.state == CellState.RESERVED && !cell.pending && cell.reservationId != kept) { "$cell" }
            val luc = core.children()[2].id
            check(core.alerts().any { it.childId == luc && it.kind == AlertKind.DOCUMENT_REQUIRED }) { "Luc's alert: ${core.alerts()}" }
        }

        // A late cancellation: applied, billed, and said once ("OUPS !").
        val late = lateDay(server)
        openCore(folder, server.url).use { core ->
            core.sync()
            core.reserve(elena, late)
            check(core.sync().applied == 1u) { "the booking" }
            val booked = cells(core.calendar(elena, from, to)).first { it.sessionId == late }
            check(booked.state == CellState.RESERVED_LOCKED) { "$booked" }
            core.cancel(booked.reservationId!!)
            val report = core.sync()
            check(report.applied == 1u && report.rejected == 0u && report.billed == 1u) { "$report" }
            val notice = core.queue().single()
            check(notice.state == QueueState.APPLIED && notice.billed && notice.code == ErrorCode.CANCEL_DEADLINE_PASSED) { "$notice" }
            check(notice.detail!!.startsWith("OUPS")) { "${notice.detail}" }
            check(cells(core.calendar(elena, from, to)).first { it.sessionId == late }.state == CellState.LATE) { "late" }
            check(core.dismissRejected(notice.id) && core.queue().isEmpty()) { "dismissed" }
        }
        // The agent bills last month (the demo's Wednesdays): the push routes to the
        // invoice, its lines and its PDF open offline.
        val agent = server.agentToken()
        val month = LocalDate.now().withDayOfMonth(1).minusMonths(1).toString().substring(0, 7)
        val run = field(server.call("POST", "/api/v1/staff/billing/runs", agent, """{"month":"$month"}"""), "id")
        val issued = server.call("POST", "/api/v1/staff/billing/runs/$run/issue", agent, null)
        val invoiceId = issued.let {
            Regex(""""invoices":\[\{"id":"([0-9a-f-]{36})"""").find(it)?.groupValues?.get(1) ?: throw AssertionError("no invoice in $it")
        }
        val number = field(issued, "number")
        var pdf = ByteArray(0)
        openCore(folder, server.url).use { core ->
            val shown = core.handlePush(mapOf("kind" to "invoice_issued", "id" to invoiceId))
            check(shown.synced && shown.kind == PushKind.INVOICE_ISSUED && shown.targetId == invoiceId) { "$shown" }
            val listed = core.invoices().single { it.id == invoiceId }
            check(listed.number == number && listed.status == InvoiceStatus.ISSUED && listed.linesOnPhone) { "$listed" }
            check(shown.body == "${listed.label} : ${listed.totalLabel}") { shown.body }
            pdf = core.invoicePdf(invoiceId)
            check(String(pdf.copyOfRange(0, 5)) == "%PDF-") { "not a PDF" }
        }
        openCore(folder, "http://127.0.0.1:9").use { offline ->
            val detail = offline.invoice(invoiceId)
            check(detail.lines.sumOf { it.amountCents } == detail.invoice.totalCents) { "$detail" }
            check(detail.lines.any { it.kind == LineKind.SURCHARGE }) { "the surcharge line" }
            check(offline.invoicePdf(invoiceId).contentEquals(pdf)) { "the PDF kept on the phone" }
        }
        // Paid online through PayFiP: the browser comes back, the core asks, and the
        // invoice reads paid offline.
        openCore(folder, server.url).use { core ->
            check(core.invoices().single { it.id == invoiceId }.payableOnline) { "« Payer en ligne »" }
            val started = core.startPayment(invoiceId)
            val page = browserPays(started.url, "P")
            check("Paiement accepté" in page) { page }
            val paid = core.payment(started.paymentId)
            check(paid.status == PaymentStatus.PAID && paid.settled && paid.invoiceId == invoiceId) { "$paid" }
        }
        openCore(folder, "http://127.0.0.1:9").use { offline ->
            val listed = offline.invoices().single { it.id == invoiceId }
            check(listed.status == InvoiceStatus.PAID && listed.leftToPayCents == 0L && !listed.payableOnline) { "$listed" }
        }
        // MESSAGES: written offline with a photo, sent after it; the agent reads and
        // answers, the push opens the thread, and the parent's read reaches the agent.
        var service = ""
        openCore(folder, server.url).use { core ->
            core.sync()
            service = core.services().first { it.name == "Enfance-jeunesse" }.id
        }
        val picture = File(System.getenv("FAMILLE_PHOTOS"), "gps_nikon_DSCN0010.jpg").readBytes()
        openCore(folder, "http://127.0.0.1:9").use { offline ->
            val attachment = offline.attachFile(picture, "certificat.jpg")
            val intent = offline.sendMessage(null, service, "Luc est malade", "Fièvre ce matin.", listOf(attachment))
            val waiting = offline.thread(intent).messages.single()
            check(waiting.state == MessageState.PENDING && waiting.attachments.single().onPhone) { "$waiting" }
        }
        openCore(folder, server.url).use { core ->
            val report = core.sync()
            check(report.applied == 1u) { "$report" }
            val thread = core.threads().first { it.subject == "Luc est malade" }
            val sent = core.thread(thread.id).messages.single()
            check(sent.state == MessageState.SENT && sent.attachments.single().contentType == "image/jpeg") { "$sent" }
            check(core.attachment(thread.id, sent.attachments.single().id).contentEquals(picture)) { "the photo" }
            val staff = server.call("GET", "/api/v1/staff/threads/${thread.id}", agent, null)
            val at = Regex(""""created_at":"([^"]+)"""").findAll(staff).last().groupValues[1]
            server.call("POST", "/api/v1/staff/threads/${thread.id}/read", agent, """{"up_to":"$at"}""")
            val answered = server.call("POST", "/api/v1/staff/threads/${thread.id}/messages", agent, """{"body":"Bon rétablissement."}""")
            // The push names the answer; the core opens its thread.
            val answerId = Regex(""""id":"([0-9a-f-]{36})","side":"services"""").findAll(answered).last().groupValues[1]
            val shown = core.handlePush(mapOf("kind" to "message", "id" to answerId))
            check(shown.synced && shown.kind == PushKind.MESSAGE && shown.targetId == thread.id) { "$shown" }
            val (mine, answer) = core.thread(thread.id).messages
            check(mine.read && !answer.fromFamily && answer.author == "Enfance-jeunesse") { "$mine $answer" }
            check(core.threads().first { it.id == thread.id }.unread == 1u) { "one to read" }
            core.markThreadRead(thread.id)
            core.sync()
            val read = server.call("GET", "/api/v1/staff/threads/${thread.id}", agent, null)
            check(""""read":true""" in read.substringAfterLast(""""side":"services"""")) { read }
        }
        folder.deleteRecursively()
        println("Kotlin end-to-end: OK")
    }
    payfip.close()
}
