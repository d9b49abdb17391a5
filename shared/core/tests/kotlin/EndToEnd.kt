// The core through its generated Kotlin bindings, on the JVM with JNA, against a
// real server started here (famille-server serve --demo on a free port).
// Run by scripts/test: FAMILLE_SERVER_BIN names the server binary; the JVM finds
// libfamille_core.so through -Djna.library.path.

import fr.portailfamille.core.*
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

class Server : AutoCloseable {
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

    override fun close() {
        process.destroy()
        process.waitFor()
        dir.deleteRecursively()
    }
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
    Server().use { server ->
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
                it.state == "available" && OffsetDateTime.parse(it.cancellationDeadline).isAfter(limit)
            }
            check(freeDays.size >= 2) { "no free days: $freeDays" }
            kept = offline.reserve(elena, freeDays[0].sessionId)
            offline.cancel(offline.reserve(elena, freeDays[1].sessionId))
            val shown = cells(offline.calendar(elena, from, to)).associateBy { it.sessionId }
            check(shown[freeDays[0].sessionId]!!.state == "reserved" && shown[freeDays[0].sessionId]!!.pending) { "${shown[freeDays[0].sessionId]}" }
            check(shown[freeDays[1].sessionId]!!.state == "available") { "${shown[freeDays[1].sessionId]}" }
            try {
                offline.sync()
                throw AssertionError("sync without network must fail")
            } catch (e: CoreException.Offline) {
                // expected: the queue is kept
            }
            check(offline.queue().map { it.state } == listOf("pending")) { "${offline.queue()}" }
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
            check(cell.state == "reserved" && !cell.pending && cell.reservationId != kept) { "$cell" }
            val luc = core.children()[2].id
            check(core.alerts().any { it.childId == luc }) { "Luc's alert: ${core.alerts()}" }
        }
        folder.deleteRecursively()
        println("Kotlin end-to-end: OK")
    }
}
