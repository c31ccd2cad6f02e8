@testable import Docket
import Foundation
import Testing

/// A fresh directory under the system's temporary directory; call ``remove()`` when done.
private struct ScratchDirectory {
    let url: URL

    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("segment-log-\(UUID().uuidString)")
    }

    var path: String { url.path }

    func remove() { try? FileManager.default.removeItem(at: url) }

    /// The names of the journal's record files, sorted.
    func recordFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasPrefix("segment-") }.sorted()
    }

    func file(_ name: String) -> String { url.appendingPathComponent(name).path }

    func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: url.appendingPathComponent(name))) }

    func write(_ name: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: url.appendingPathComponent(name)) }
}

/// Record `i`: a payload whose length varies with `i`, including empty ones.
private func record(_ i: Int) -> [UInt8] {
    i % 9 == 0 ? [] : Array("record \(i) ".utf8) + [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: i % 23)
}

private func expectJournalError(_ code: DocketError.Code, _ body: () throws -> Void) -> DocketError? {
    do {
        try body()
        return nil
    } catch let error as DocketError {
        return error.code == code ? error : nil
    } catch {
        return nil
    }
}

@Suite("SegmentLog: the journal's byte layer")
struct SegmentLogTests {
    @Test("CRC-32C matches its check value and a bit-by-bit computation at every length")
    func crc() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xE306_9283)
        func slow(_ bytes: [UInt8]) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 0 ? 0 : 0x82F6_3B78) }
            }
            return crc ^ 0xFFFF_FFFF
        }
        let bytes = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        for count in 0...bytes.count {
            #expect(CRC32.checksum(Array(bytes.prefix(count))) == slow(Array(bytes.prefix(count))))
        }
    }

    @Test("Segment file names sort lexically in log order and parse back")
    func names() {
        let names = [
            SegmentFileName(1, .segment), SegmentFileName(1, .snapshot), SegmentFileName(2, .segment),
            SegmentFileName(0xF, .segment), SegmentFileName(0x10, .segment), SegmentFileName(UInt64.max, .segment),
        ]
        #expect(names.map(\.description).sorted() == names.map(\.description))
        #expect(names.map(\.description).compactMap(SegmentFileName.init) == names)
        #expect(SegmentFileName(1, .segment).description == "segment-0000000000000001.log")
        #expect(SegmentFileName("segment-000000000000000A.log") == nil)
        #expect(SegmentFileName("lock") == nil)
    }

    @Test("Records round-trip across several segments and reopening, and appends continue after reopening")
    func roundTrip() async throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let first = (0..<40).map(record) + [[UInt8](repeating: 7, count: 200)]
        var log = try SegmentLog(directory: directory.url, sync: .groupCommit, segmentLimit: 64)
        #expect(try log.readAll().isEmpty)
        for payload in first { log.append(payload) }
        try await log.flush()
        #expect(try log.readAll() == first)
        let files = try directory.recordFiles()
        #expect(files.count > 5)
        #expect(log.segmentCount == files.count)
        #expect(log.byteCount == files.reduce(0) { $0 + ((try? directory.bytes($1).count) ?? 0) })
        // No segment exceeds the limit unless it holds a single record.
        for name in files {
            let size = try directory.bytes(name).count
            #expect(size <= 64 || name == files.last)
        }
        await log.close()

        log = try SegmentLog(directory: directory.url, sync: .groupCommit, segmentLimit: 64)
        #expect(try log.readAll() == first)
        #expect(log.truncatedTailBytes == 0)
        let second = (100..<110).map(record)
        for payload in second { log.append(payload) }
        try await log.flush()
        await log.close()

        log = try SegmentLog(directory: directory.url, sync: .none, segmentLimit: 64)
        #expect(try log.readAll() == first + second)
        await log.close()
    }

    @Test("Group commit shares one fsync among many records; per-record syncs each one", arguments: [SyncMode.groupCommit, .perRecord])
    func groupCommit(mode: SyncMode) async throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let log = try SegmentLog(directory: directory.url, sync: mode)
        let tasks = 8
        let perTask = 40
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    for i in 0..<perTask { try await log.waitDurable(log.append(Array("\(task):\(i)".utf8))) }
                }
            }
            try await group.waitForAll()
        }
        let total = tasks * perTask
        if mode == .perRecord {
            #expect(log.syncCount == total)
        } else {
            #expect(log.syncCount > 0)
            #expect(log.syncCount < total)
        }
        let read = try log.readAll().map { String(decoding: $0, as: UTF8.self) }
        #expect(read.count == total)
        for task in 0..<tasks {
            #expect(read.filter { $0.hasPrefix("\(task):") } == (0..<perTask).map { "\(task):\($0)" })
        }
        await log.close()
    }

    /// A closed two-segment log of records 0..<8, the files' bytes, and where the last record starts.
    private func tornTailBaseline() async throws -> (files: [(String, [UInt8])], records: [[UInt8]], lastStart: Int) {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let records = (1..<9).map(record)
        let log = try SegmentLog(directory: directory.url, sync: .none, segmentLimit: 120)
        for payload in records { log.append(payload) }
        try await log.flush()
        await log.close()
        let files = try directory.recordFiles().map { ($0, try directory.bytes($0)) }
        let lastStart = files.last!.1.count - SegmentFormat.recordHeaderSize - records.last!.count
        return (files, records, lastStart)
    }

    @Test("A last segment cut at every byte of its last record reopens with the earlier records and reports the cut bytes")
    func tornTailEveryOffset() async throws {
        let (files, records, lastStart) = try await tornTailBaseline()
        #expect(files.count >= 2)
        let lastName = files.last!.0
        let fullSize = files.last!.1.count
        for cut in lastStart..<fullSize {
            let directory = ScratchDirectory()
            defer { directory.remove() }
            try FileManager.default.createDirectory(at: directory.url, withIntermediateDirectories: true)
            for (name, bytes) in files { try directory.write(name, name == lastName ? Array(bytes.prefix(cut)) : bytes) }

            var log = try SegmentLog(directory: directory.url, sync: .groupCommit, segmentLimit: 120)
            #expect(try log.readAll() == Array(records.dropLast()), "cut at \(cut)")
            #expect(log.truncatedTailBytes == cut - lastStart, "cut at \(cut)")
            #expect(try directory.bytes(lastName).count == lastStart, "cut at \(cut)")
            try await log.waitDurable(log.append(Array("after".utf8)))
            await log.close()

            log = try SegmentLog(directory: directory.url, sync: .groupCommit, segmentLimit: 120)
            #expect(try log.readAll() == Array(records.dropLast()) + [Array("after".utf8)], "cut at \(cut)")
            #expect(log.truncatedTailBytes == 0)
            await log.close()
        }
    }

    @Test("A zero-filled, garbage or checksum-failing end of the last segment is a torn tail")
    func tornTailShapes() async throws {
        let (files, records, lastStart) = try await tornTailBaseline()
        let lastName = files.last!.0
        let whole = files.last!.1
        var zeroedLast = Array(whole.prefix(lastStart + 3))
        zeroedLast += [UInt8](repeating: 0, count: 5000)
        var flipped = whole
        flipped[flipped.count - 1] ^= 0x40
        let shapes: [(String, [UInt8], [[UInt8]])] = [
            ("zeros after the last record", whole + [UInt8](repeating: 0, count: 4096), records),
            ("zeros over the last record", zeroedLast, Array(records.dropLast())),
            ("checksum mismatch in the last record", flipped, Array(records.dropLast())),
            ("garbage after the last record", whole + [0xFF, 0xFE, 0x01, 0x02, 0x03, 0xEE, 0xDD, 0x99, 0x42, 0x17], records),
        ]
        for (label, lastBytes, expected) in shapes {
            let directory = ScratchDirectory()
            defer { directory.remove() }
            try FileManager.default.createDirectory(at: directory.url, withIntermediateDirectories: true)
            for (name, bytes) in files { try directory.write(name, name == lastName ? lastBytes : bytes) }
            let log = try SegmentLog(directory: directory.url, sync: .none, segmentLimit: 120)
            #expect(try log.readAll() == expected, "\(label)")
            let kept = expected.count == records.count ? whole.count : lastStart
            #expect(log.truncatedTailBytes == lastBytes.count - kept, "\(label)")
            #expect(try directory.bytes(lastName) == Array(whole.prefix(kept)), "\(label)")
            await log.close()
        }
    }

    @Test("A damaged record with good records after it, or in a segment that is not the last, is corruption naming the file and offset")
    func corruption() async throws {
        let (files, _, _) = try await tornTailBaseline()
        let firstName = files[0].0
        let lastName = files.last!.0
        /// Where each record of a whole file starts.
        func starts(_ bytes: [UInt8]) -> [Int] {
            bytes.withUnsafeBytes { buffer in
                var starts: [Int] = []
                var offset = SegmentFormat.headerSize
                while case .success(let end) = SegmentFormat.parseRecord(buffer, at: offset) {
                    starts.append(offset)
                    offset = end
                }
                return starts
            }
        }
        let firstStarts = starts(files[0].1)
        #expect(firstStarts.count >= 2)
        #expect(starts(files.last!.1).count >= 2)

        var middle = files.last!.1
        middle[SegmentFormat.headerSize + SegmentFormat.recordHeaderSize] ^= 0x01  // first record's payload
        var lastOfFirst = files[0].1
        lastOfFirst[lastOfFirst.count - 1] ^= 0x01
        var early = files[0].1
        early[firstStarts[1] + SegmentFormat.recordHeaderSize] ^= 0x80
        var length = files[0].1
        length[firstStarts[1]] ^= 0x02
        var badHeader = files.last!.1
        badHeader[0] = UInt8(ascii: "X")
        // A bad record, zeros, then a good record whose length begins with a zero byte (256).
        let good = SegmentFormat.encodeFile([[UInt8](repeating: 9, count: 256)]).dropFirst(SegmentFormat.headerSize)
        let hidden = files.last!.1 + [1, 2, 3, 4, 5] + [UInt8](repeating: 0, count: 40) + good

        let cases: [(String, String, [UInt8], Int)] = [
            ("flipped payload of the first record of the last segment", lastName, middle, SegmentFormat.headerSize),
            ("damaged last record of a segment that is not the last", firstName, lastOfFirst, firstStarts.last!),
            ("truncated segment that is not the last", firstName, Array(files[0].1.dropLast(3)), firstStarts.last!),
            ("flipped payload of an early record", firstName, early, firstStarts[1]),
            ("flipped length of an early record", firstName, length, firstStarts[1]),
            ("unknown header", lastName, badHeader, 0),
            ("a good record after zeros after a bad one", lastName, hidden, files.last!.1.count),
        ]
        for (label, damagedName, damagedBytes, offset) in cases {
            let directory = ScratchDirectory()
            defer { directory.remove() }
            try FileManager.default.createDirectory(at: directory.url, withIntermediateDirectories: true)
            for (name, bytes) in files { try directory.write(name, name == damagedName ? damagedBytes : bytes) }
            let log = try SegmentLog(directory: directory.url, sync: .none, segmentLimit: 120)
            let error = expectJournalError(.journalCorrupt) { _ = try log.readAll() }
            #expect(error != nil, "\(label)")
            #expect(error?.message.contains(directory.file(damagedName)) == true, "\(label): \(error?.message ?? "")")
            #expect(error?.message.contains("byte offset \(offset):") == true, "\(label): \(error?.message ?? "")")
            // Nothing was changed.
            #expect(try directory.bytes(damagedName) == damagedBytes, "\(label)")
            #expect(log.truncatedTailBytes == 0)
            await log.close()
        }
    }

    @Test("A second open of the directory, even in this process, is refused until the first is closed")
    func locked() async throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let first = try SegmentLog(directory: directory.url, sync: .none)
        first.append([1, 2, 3])
        do {
            _ = try SegmentLog(directory: directory.url, sync: .none)
            Issue.record("the second open succeeded")
        } catch let error as DocketError {
            #expect(error.code == .journalLocked)
            #expect(error.message.contains(directory.path))
        }
        await first.close()
        let second = try SegmentLog(directory: directory.url, sync: .none)
        #expect(try second.readAll() == [[1, 2, 3]])
        await second.close()
    }

    @Test("Compaction replaces the records up to the cut while appends go on", arguments: [SyncMode.groupCommit, .perRecord, .none])
    func compaction(mode: SyncMode) async throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let old = (0..<60).map(record)
        let newer = (100..<160).map(record)
        let snapshot: [[UInt8]] = [Array("snapshot".utf8), [], Array("of state".utf8)]
        var log = try SegmentLog(directory: directory.url, sync: mode, segmentLimit: 128)
        for payload in old { log.append(payload) }
        try await log.flush()
        let bytesBefore = log.byteCount
        let cut = log.rotate()
        let appending = Task { [log] in
            for payload in newer { try await log.waitDurable(log.append(payload)) }
        }
        let replacing = Task.detached { [log] in try log.replace(through: cut, with: snapshot) }
        try await replacing.value
        try await appending.value
        #expect(try log.readAll() == snapshot + newer)
        let files = try directory.recordFiles()
        #expect(files.first == SegmentFileName(cut.segment, .snapshot).description)
        #expect(files.dropFirst().allSatisfy { (SegmentFileName($0)?.number ?? 0) > cut.segment })
        #expect(log.segmentCount == files.count)
        #expect(log.byteCount == files.reduce(0) { $0 + ((try? directory.bytes($1).count) ?? 0) })
        #expect(log.byteCount < bytesBefore + newer.reduce(0) { $0 + 8 + $1.count })
        await log.close()

        log = try SegmentLog(directory: directory.url, sync: mode, segmentLimit: 128)
        #expect(try log.readAll() == snapshot + newer)
        // A second compaction replaces the first snapshot too.
        log.append(Array("last".utf8))
        let second = log.rotate()
        try log.replace(through: second, with: [Array("all".utf8)])
        #expect(try log.readAll() == [Array("all".utf8)])
        #expect(try directory.recordFiles().filter { $0.contains("snapshot") } == [SegmentFileName(second.segment, .snapshot).description])
        await log.close()
    }

    @Test(
        "A compaction stopped at any step reopens as the old records or the snapshot, each followed by the newer records",
        arguments: [SegmentLog.ReplaceStep.tempWritten, .renamed, .firstOldFileRemoved])
    func compactionCrash(step: SegmentLog.ReplaceStep) async throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let old = (0..<30).map(record)
        let newer = (100..<105).map(record)
        let snapshot: [[UInt8]] = [Array("snapshot".utf8)]
        var log = try SegmentLog(directory: directory.url, sync: .groupCommit, segmentLimit: 64)
        for payload in old { log.append(payload) }
        let cut = log.rotate()
        for payload in newer { log.append(payload) }
        try await log.flush()
        try log.replace(through: cut, with: snapshot, stoppingAfter: step)
        // The live log reads as one or the other too.
        #expect(try log.readAll() == (step == .tempWritten ? old : snapshot) + newer)
        await log.close()

        let files = try directory.recordFiles()
        let oldSegments = files.filter { SegmentFileName($0).map { $0.kind == .segment && $0.number <= cut.segment } ?? false }
        switch step {
        case .tempWritten:
            #expect(files.contains(SegmentFileName(cut.segment, .snapshotTemp).description))
            #expect(oldSegments.count > 2)
        case .renamed:
            #expect(files.contains(SegmentFileName(cut.segment, .snapshot).description))
            #expect(oldSegments.count > 2)
        case .firstOldFileRemoved:
            #expect(files.contains(SegmentFileName(cut.segment, .snapshot).description))
            #expect(oldSegments.count > 1)
            #expect(!oldSegments.contains(SegmentFileName(1, .segment).description))
        }

        for _ in 0..<2 {
            log = try SegmentLog(directory: directory.url, sync: .groupCommit, segmentLimit: 64)
            #expect(try log.readAll() == (step == .tempWritten ? old : snapshot) + newer)
            let after = try directory.recordFiles()
            #expect(!after.contains { $0.hasSuffix(".tmp") })
            if step != .tempWritten {
                #expect(!after.contains { SegmentFileName($0).map { $0.kind == .segment && $0.number <= cut.segment } ?? false })
            }
            await log.close()
        }
    }

    @Test("A half-written snapshot temp file is removed on open and never read")
    func leftoverTemp() async throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var log = try SegmentLog(directory: directory.url, sync: .none)
        log.append([1])
        try await log.flush()
        await log.close()
        let temp = SegmentFileName(1, .snapshotTemp).description
        try directory.write(temp, Array(SegmentFormat.encodeFile([[9, 9, 9]]).dropLast(2)))
        log = try SegmentLog(directory: directory.url, sync: .none)
        #expect(try log.readAll() == [[1]])
        #expect(try !directory.recordFiles().contains(temp))
        await log.close()
    }

    @Test("waitDurable and waitDurableBlocking return once the record is synced to disk")
    func durable() async throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let log = try SegmentLog(directory: directory.url, sync: .groupCommit)
        let payload = Array("durable".utf8)
        try await log.waitDurable(log.append(payload))
        #expect(log.syncCount >= 1)
        let name = try #require(try directory.recordFiles().first)
        #expect(try directory.bytes(name).suffix(payload.count) == payload[...])

        let syncsBefore = log.syncCount
        let blocking = Array("blocking".utf8)
        try log.waitDurableBlocking(log.append(blocking))
        #expect(log.syncCount > syncsBefore)
        #expect(try directory.bytes(name).suffix(blocking.count) == blocking[...])
        try await log.flush()
        await log.close()
    }

    @Test("A failed write fails the waiting and later waiters, keeps what was durable, and the log reopens")
    func writeFailure() async throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var log = try SegmentLog(directory: directory.url, sync: .groupCommit)
        let kept = log.append([1, 1])
        try await log.waitDurable(kept)
        try log.simulateFullDiskForTesting()
        let lost = log.append([2, 2])
        let error = await expectError(.journalFailed) { try await log.waitDurable(lost) }
        #expect(error != nil)
        let segment = SegmentFileName(1, .segment).description
        #expect(error?.message.contains(segment) == true, "\(error?.message ?? "")")
        #expect(expectJournalError(.journalFailed) { try log.waitDurableBlocking(lost) } != nil)
        let later = log.append([3, 3])
        #expect(await expectError(.journalFailed) { try await log.waitDurable(later) } != nil)
        #expect(expectJournalError(.journalFailed) { try log.waitDurableBlocking(later) } != nil)
        #expect(await expectError(.journalFailed) { try await log.flush() } != nil)
        try await log.waitDurable(kept)
        await log.close()

        log = try SegmentLog(directory: directory.url, sync: .groupCommit)
        #expect(try log.readAll() == [[1, 1]])
        await log.close()
    }

    @Test("Closing writes everything appended, and waiting for a record appended after closing throws")
    func closing() async throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var log = try SegmentLog(directory: directory.url, sync: .groupCommit, segmentLimit: 100)
        let records = (0..<50).map(record)
        var last: UInt64 = 0
        for payload in records { last = log.append(payload) }
        await log.close()
        try await log.waitDurable(last)
        let dropped = log.append([9])
        #expect(await expectError(.journalFailed) { try await log.waitDurable(dropped) } != nil)
        #expect(expectJournalError(.journalFailed) { _ = try log.readAll() } != nil)
        await log.close()

        log = try SegmentLog(directory: directory.url, sync: .groupCommit, segmentLimit: 100)
        #expect(try log.readAll() == records)
        await log.close()
    }
}
