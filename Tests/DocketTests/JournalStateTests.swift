@testable import Docket
import Foundation
import Testing

/// The journal's records and their reducer, without any engine or file.
@Suite("Journal records and state")
struct JournalStateTests {
    static let t0 = Date(timeIntervalSinceReferenceDate: 800_000_000.123456789)
    static let a = OperationID(high: 1, low: 1)
    static let b = OperationID(high: 2, low: 2)
    static let c = OperationID(high: 3, low: 3)

    static func submission(_ id: OperationID, key: String? = "deal-1", idempotencyKey: String? = nil) -> JournalSubmission {
        JournalSubmission(
            id: id, operation: "record", input: Data("{\"label\":\"\(id.low)\"}".utf8), owner: "acme", objectKey: key,
            created: t0, due: t0.addingTimeInterval(5), idempotencyKey: idempotencyKey, dependencies: [b], runsNow: false)
    }

    static let everyKind: [JournalRecord] = [
        .submitted(submission(Self.a, idempotencyKey: "k")),
        .submitted(JournalSubmission(id: b, operation: "x", input: Data(), owner: nil, objectKey: nil, created: t0, due: t0, attempt: 3, roundStart: 2)),
        .started(a, attempt: 1),
        .requeued(a, due: t0.addingTimeInterval(10), error: "attempt 1 failed"),
        .succeeded(a, output: Data([0, 1, 2, 255]), at: t0, expires: t0.addingTimeInterval(86_400)),
        .failed(b, OperationFailure(.interrupted, "interrupted ✂︎"), at: t0),
        .retried(b, correctedInput: Data("{}".utf8), at: t0),
        .retried(b, correctedInput: nil, at: t0),
        .cancelled(c, .dependencyDeleted, at: t0),
        .consumed(a, at: t0),
        .rejected(c),
        .deferred(a),
        .tombstone(JournalTombstone(id: c, operation: "record", owner: nil, state: .cancelled(.cascade), consumed: false, at: t0, idempotencyKey: "k2", created: t0)),
        .tombstone(JournalTombstone(id: a, operation: "record", owner: "acme", state: .succeeded, consumed: true, at: t0, idempotencyKey: nil, created: t0)),
    ]

    @Test("Every kind of record decodes to what was encoded, dates exactly")
    func codecRoundTrip() throws {
        for record in Self.everyKind {
            let bytes = JournalCodec.encode(record)
            #expect(try JournalCodec.decode(bytes) == record)
        }
        #expect(JournalCodec.encode(Self.everyKind[0]).count < 110)
    }

    @Test("Damaged bytes are refused, never misread")
    func codecRefusesDamage() {
        let bytes = JournalCodec.encode(Self.everyKind[0])
        for length in 0..<bytes.count {
            #expect(throws: JournalCodec.DecodingFailure.self) { try JournalCodec.decode(bytes.prefix(length)) }
        }
        #expect(throws: JournalCodec.DecodingFailure.self) { try JournalCodec.decode(bytes + [0]) }
        #expect(throws: JournalCodec.DecodingFailure.self) { try JournalCodec.decode([99]) }
    }

    @Test("The reducer follows an operation through its life")
    func lifecycle() {
        var state = JournalState()
        state.apply(.submitted(Self.submission(Self.a)))
        #expect(state.operations[Self.a]?.phase == .queued)
        state.apply(.started(Self.a, attempt: 1))
        #expect(state.operations[Self.a]?.phase == .running)
        state.apply(.requeued(Self.a, due: Self.t0.addingTimeInterval(30), error: "boom"))
        #expect(state.operations[Self.a]?.phase == .queued)
        #expect(state.operations[Self.a]?.submission.due == Self.t0.addingTimeInterval(30))
        #expect(state.operations[Self.a]?.lastError == "boom")
        state.apply(.started(Self.a, attempt: 2))
        state.apply(.failed(Self.a, OperationFailure(.thrown, "no"), at: Self.t0))
        state.apply(.consumed(Self.a, at: Self.t0))
        #expect(state.operations[Self.a]?.phase == .failed(OperationFailure(.thrown, "no"), at: Self.t0, read: true))
        state.apply(.retried(Self.a, correctedInput: Data("fixed".utf8), at: Self.t0))
        #expect(state.operations[Self.a]?.submission.input == Data("fixed".utf8))
        #expect(state.operations[Self.a]?.submission.roundStart == 2)
        state.apply(.started(Self.a, attempt: 3))
        state.apply(.succeeded(Self.a, output: Data("out".utf8), at: Self.t0, expires: Self.t0.addingTimeInterval(60)))
        state.apply(.consumed(Self.a, at: Self.t0))
        guard case .ended(let tombstone) = state.operations[Self.a]?.phase else {
            Issue.record("a consumed success leaves a tombstone")
            return
        }
        #expect(tombstone.consumed && tombstone.state == .succeeded)
        #expect(state.operations[Self.a]?.submission.input.isEmpty == true)
    }

    @Test("Rejected operations vanish; records for unknown operations are counted, not applied")
    func rejectedAndStrays() {
        var state = JournalState()
        state.apply(.submitted(Self.submission(Self.a)))
        state.apply(.rejected(Self.a))
        state.apply(.started(Self.b, attempt: 1))
        #expect(state.operations.isEmpty)
        #expect(state.strays == 1)
    }

    @Test("A run-now submission handed out to track becomes deferred, and compaction writes it so")
    func deferredRunNow() {
        var state = JournalState()
        var runNow = Self.submission(Self.a)
        runNow.runsNow = true
        state.apply(.submitted(runNow))
        state.apply(.submitted(JournalSubmission(id: Self.b, operation: "x", input: Data(), owner: nil, objectKey: nil, created: Self.t0, due: Self.t0, runsNow: true)))
        state.apply(.deferred(Self.a))
        state.apply(.deferred(Self.c))
        #expect(state.operations[Self.a]?.submission.runsNow == false)
        #expect(state.operations[Self.b]?.submission.runsNow == true)
        #expect(state.strays == 1)
        let compacted = JournalState(state.records)
        #expect(compacted.operations[Self.a]?.submission.runsNow == false)
        #expect(compacted.operations[Self.b]?.submission.runsNow == true)
    }

    @Test("Aging expires unread results into tombstones and drops tombstones past their window")
    func aging() {
        var state = JournalState()
        state.apply(.submitted(Self.submission(Self.a)))
        state.apply(.succeeded(Self.a, output: Data(), at: Self.t0, expires: Self.t0.addingTimeInterval(60)))
        state.apply(.submitted(Self.submission(Self.b, key: "deal-2")))
        state.apply(.cancelled(Self.b, .cancelled, at: Self.t0))
        state.age(now: Self.t0.addingTimeInterval(90), tombstoneLifetime: .seconds(100))
        guard case .ended(let tombstone) = state.operations[Self.a]?.phase else {
            Issue.record("an expired result leaves a tombstone")
            return
        }
        #expect(!tombstone.consumed)
        #expect(state.operations[Self.b] != nil)
        state.age(now: Self.t0.addingTimeInterval(101), tombstoneLifetime: .seconds(100))
        #expect(state.operations[Self.b] == nil)
        #expect(state.operations[Self.a] != nil, "its window counts from the expiry")
        state.age(now: Self.t0.addingTimeInterval(161), tombstoneLifetime: .seconds(100))
        #expect(state.operations.isEmpty)
    }

    @Test("A snapshot rebuilds the same state, in submission order and fewer records")
    func snapshot() {
        var records: [JournalRecord] = []
        for index in 0..<20 {
            let id = OperationID(high: 9, low: UInt64(index))
            records.append(.submitted(Self.submission(id, key: "deal-\(index % 3)")))
            switch index % 5 {
            case 0: records += [.started(id, attempt: 1)]
            case 1: records += [.started(id, attempt: 1), .failed(id, OperationFailure(.thrown, "x"), at: Self.t0)]
            case 2: records += [.started(id, attempt: 1), .succeeded(id, output: Data([1]), at: Self.t0, expires: Self.t0.addingTimeInterval(999))]
            case 3: records += [.started(id, attempt: 1), .succeeded(id, output: Data([1]), at: Self.t0, expires: Self.t0.addingTimeInterval(999)), .consumed(id, at: Self.t0)]
            default: records += [.started(id, attempt: 1), .requeued(id, due: Self.t0.addingTimeInterval(20), error: "again")]
            }
        }
        let state = JournalState(records)
        let snapshot = state.snapshot(now: Self.t0, tombstoneLifetime: .seconds(3600))
        #expect(snapshot.count < records.count)
        let rebuilt = JournalState(snapshot)
        #expect(rebuilt.ordered.map(\.submission.id) == state.ordered.map(\.submission.id))
        for operation in state.ordered {
            let copy = rebuilt.operations[operation.submission.id]
            #expect(copy?.phase == operation.phase)
            #expect(copy?.lastError == operation.lastError)
            if case .ended = operation.phase { continue }
            #expect(copy?.submission.attempt == operation.submission.attempt)
            #expect(copy?.submission.input == operation.submission.input)
        }
    }
}
