import Docket
import DocketTesting
import Foundation
import Testing

/// A docket on the embedded file journal, reopened from the files.
@Suite("File journal", .timeLimit(.minutes(1)))
struct FileJournalTests {
    /// Runs `body` with a fresh journal directory, removed afterwards whatever happens.
    static func withDirectory(_ body: (URL) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("docket-journal-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try await body(directory)
    }

    /// The one segment file of a journal that never rolled over.
    static func onlySegment(in directory: URL) throws -> URL {
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: directory.path).first { $0.hasPrefix("segment-") })
        return directory.appendingPathComponent(name)
    }

    /// Opens the journal in `directory` and recovers a docket from it, closing the journal
    /// whether or not recovery succeeds. A failed recovery throws its own error, not the close's.
    static func recover(from directory: URL) async throws {
        let reopened = try FileJournal(directory: directory)
        do {
            _ = try await RecoveryTests.Life(store: reopened)
        } catch {
            try? await reopened.close()
            throw error
        }
        try await reopened.close()
    }

    @Test("Queued, failed and unread operations come back from the files; read-once holds")
    func reopen() async throws {
        try await Self.withDirectory { directory in
            let journal = try FileJournal(directory: directory)
            let first = try await RecoveryTests.Life(store: journal)
            let hold = try await first.submit("hold", first.slow)
            _ = try await first.submit("a")
            let failed = try await first.submit("bad", on: "deal-2", fail: true)
            let taken = try await first.submit("taken", on: "deal-3")
            let unread = try await first.submit("unread", on: "deal-4")
            try await waitUntil(hold, in: first.docket) { $0 == .running }
            for id in [failed, unread] { try await waitUntil(id, in: first.docket) { $0.isFinished } }
            #expect(await first.docket.outcome(of: taken).value?.decode(as: String.self) == "done taken")
            #expect(journal.syncCount > 0)
            try await journal.close()

            let reopened = try FileJournal(directory: directory)
            let second = try await RecoveryTests.Life(store: reopened)
            #expect(second.docket.recovery.interrupted == 1)
            #expect(second.docket.recovery.queued == 1)
            #expect(second.docket.recovery.failed == 1)
            #expect(second.docket.takeResult(of: taken).isConsumed)
            #expect(second.docket.takeResult(of: unread).value?.decode(as: String.self) == "done unread")
            #expect(try second.docket.status(of: failed).errorText == "bad failed")
            second.gate.open("hold")
            try await second.docket.retry(hold)
            await second.docket.waitForIdle()
            #expect(second.journal.all == ["start hold", "end hold", "a"])
            try await reopened.close()
        }
    }

    @Test("Concurrent submitters to one object: the journal holds its submissions in the order they ran")
    func journalOrderIsLineOrder() async throws {
        try await Self.withDirectory { directory in
            let journal = try FileJournal(directory: directory)
            let life = try await RecoveryTests.Life(store: journal)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for submitter in 0..<8 {
                    group.addTask {
                        for index in 0..<40 { _ = try await life.submit("\(submitter)-\(index)") }
                    }
                }
                try await group.waitForAll()
            }
            await life.docket.waitForIdle()
            try await journal.close()
            let reopened = try FileJournal(directory: directory)
            var submitted: [String] = []
            for case .submitted(let submission) in try reopened.recover() {
                let step = try JSONDecoder().decode(Step.self, from: submission.input)
                submitted.append(step.label)
            }
            #expect(submitted.count == 320)
            #expect(submitted == life.journal.all)
            try await reopened.close()
        }
    }

    @Test("A journal written by a newer format, or a directory that cannot be one, is a typed error that changes nothing")
    func refusedJournals() async throws {
        try await Self.withDirectory { directory in
            let journal = try FileJournal(directory: directory)
            let life = try await RecoveryTests.Life(store: journal)
            _ = try await life.submit("kept", delay: .seconds(60))
            try await journal.close()
            let url = try Self.onlySegment(in: directory)
            let original = try Data(contentsOf: url)
            var newer = original
            newer[4] = 2
            try newer.write(to: url)
            let error = await expectError(.journalCorrupt) { try await Self.recover(from: directory) }
            #expect(error?.message.contains("format version 2") == true)
            #expect(try Data(contentsOf: url) == newer, "the file is left as it was")

            let file = directory.appendingPathComponent("not-a-directory")
            try Data("x".utf8).write(to: file)
            let failed = await expectError(.journalFailed) { _ = try FileJournal(directory: file) }
            #expect(failed?.message.contains("not-a-directory") == true)
        }
    }

    @Test("A second journal on the same directory is refused while the first is open")
    func locked() async throws {
        try await Self.withDirectory { directory in
            let journal = try FileJournal(directory: directory)
            let error = await expectError(.journalLocked) { _ = try FileJournal(directory: directory) }
            #expect(error?.message.contains(directory.path) == true)
            try await journal.close()
            let again = try FileJournal(directory: directory)
            try await again.close()
        }
    }

    @Test("Compaction keeps the files proportional to live work, and the state survives it")
    func compaction() async throws {
        try await Self.withDirectory { directory in
            let later = RecoveryTests.Life.origin.addingTimeInterval(1)
            let journal = try FileJournal(
                directory: directory, durability: .none, compactionThreshold: 16 << 10, tombstoneLifetime: .zero, wallClock: { later })
            let first = try await RecoveryTests.Life(store: journal)
            let waiting = try await first.submit("waiting", on: "deal-0", delay: .seconds(60))
            for round in 0..<40 {
                var ids: [OperationID] = []
                for index in 0..<25 { ids.append(try await first.submit("r\(round)-\(index)", on: "deal-\(index + 1)")) }
                await first.docket.waitForIdle()
                for id in ids { #expect(first.docket.takeResult(of: id).value != nil) }
            }
            // 1 000 operations ran, each leaving four records: compaction started on its own.
            await journal.compactionFinished()
            #expect(journal.compactionCount > 0)
            #expect(journal.byteCount < 200 << 10)
            // What is live (one delayed operation; tombstones end at once here) fits in far less.
            try journal.compact()
            #expect(journal.byteCount < 1 << 10)
            try await journal.close()

            let reopened = try FileJournal(directory: directory, durability: .none, tombstoneLifetime: .zero, wallClock: { later })
            let second = try await RecoveryTests.Life(store: reopened, elapsed: .seconds(1))
            #expect(second.docket.recovery.queued == 1)
            #expect(second.docket.recovery.results == 0)
            #expect(try second.docket.status(of: waiting).state == .delayed)
            try await reopened.close()
        }
    }

    @Test("A damaged record in the middle refuses the open, naming the file and offset")
    func corruption() async throws {
        try await Self.withDirectory { directory in
            let journal = try FileJournal(directory: directory)
            let first = try await RecoveryTests.Life(store: journal)
            for index in 0..<5 { _ = try await first.submit("op\(index)", delay: .seconds(60)) }
            try await journal.close()
            let url = try Self.onlySegment(in: directory)
            var bytes = try Data(contentsOf: url)
            bytes[40] ^= 0xFF
            try bytes.write(to: url)
            let error = await expectError(.journalCorrupt) { try await Self.recover(from: directory) }
            #expect(error?.message.contains(url.lastPathComponent) == true)
        }
    }
}
