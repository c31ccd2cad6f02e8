import Foundation

/// The compact binary form of ``JournalRecord``: a tag byte, then the fields, with
/// variable-length integers, dates and IDs as their raw 8 and 16 bytes. A submission of a
/// short input takes about 70 bytes.
enum JournalCodec {
    private enum Tag: UInt8 {
        case submitted = 1, started, requeued, succeeded, failed, retried, cancelled, consumed, rejected, tombstone, deferred
    }

    struct DecodingFailure: Error, CustomStringConvertible {
        let description: String
    }

    // MARK: Encoding

    static func encode(_ record: JournalRecord) -> [UInt8] {
        var writer = Writer()
        switch record {
        case .submitted(let submission):
            writer.tag(.submitted)
            writer.id(submission.id)
            writer.string(submission.operation)
            writer.bytes(submission.input)
            writer.optionalString(submission.owner)
            writer.optionalString(submission.objectKey)
            writer.date(submission.created)
            writer.date(submission.due)
            writer.optionalString(submission.idempotencyKey)
            writer.varint(UInt64(submission.dependencies.count))
            for dependency in submission.dependencies { writer.id(dependency) }
            writer.byte(submission.runsNow ? 1 : 0)
            writer.varint(UInt64(submission.attempt))
            writer.varint(UInt64(submission.roundStart))
        case .started(let id, let attempt):
            writer.tag(.started)
            writer.id(id)
            writer.varint(UInt64(attempt))
        case .requeued(let id, let due, let error):
            writer.tag(.requeued)
            writer.id(id)
            writer.date(due)
            writer.string(error)
        case .succeeded(let id, let output, let at, let expires):
            writer.tag(.succeeded)
            writer.id(id)
            writer.bytes(output)
            writer.date(at)
            writer.date(expires)
        case .failed(let id, let failure, let at):
            writer.tag(.failed)
            writer.id(id)
            writer.byte(failureCode(failure.kind))
            writer.string(failure.message)
            writer.date(at)
        case .retried(let id, let input, let at):
            writer.tag(.retried)
            writer.id(id)
            writer.byte(input == nil ? 0 : 1)
            if let input { writer.bytes(input) }
            writer.date(at)
        case .cancelled(let id, let reason, let at):
            writer.tag(.cancelled)
            writer.id(id)
            writer.byte(reasonCode(reason))
            writer.date(at)
        case .consumed(let id, let at):
            writer.tag(.consumed)
            writer.id(id)
            writer.date(at)
        case .rejected(let id):
            writer.tag(.rejected)
            writer.id(id)
        case .deferred(let id):
            writer.tag(.deferred)
            writer.id(id)
        case .tombstone(let tombstone):
            writer.tag(.tombstone)
            writer.id(tombstone.id)
            writer.string(tombstone.operation)
            writer.optionalString(tombstone.owner)
            switch tombstone.state {
            case .cancelled(let reason): writer.byte(reasonCode(reason))
            default: writer.byte(0)
            }
            writer.byte(tombstone.consumed ? 1 : 0)
            writer.date(tombstone.at)
            writer.optionalString(tombstone.idempotencyKey)
            writer.date(tombstone.created)
        }
        return writer.bytes
    }

    // MARK: Decoding

    static func decode(_ bytes: some Collection<UInt8>) throws -> JournalRecord {
        var reader = Reader(Array(bytes))
        let record = try reader.record()
        guard reader.isAtEnd else { throw DecodingFailure(description: "\(reader.remaining) stray bytes after a record") }
        return record
    }

    private static func failureCode(_ kind: OperationFailure.Kind) -> UInt8 {
        switch kind {
        case .thrown: 0
        case .timedOut: 1
        case .cancelled: 2
        case .interrupted: 3
        }
    }

    private static func reasonCode(_ reason: CancellationReason) -> UInt8 {
        switch reason {
        case .cancelled: 1
        case .deleted: 2
        case .cascade: 3
        case .dependencyDeleted: 4
        }
    }

    private static func reason(_ code: UInt8) throws -> CancellationReason {
        switch code {
        case 1: .cancelled
        case 2: .deleted
        case 3: .cascade
        case 4: .dependencyDeleted
        default: throw DecodingFailure(description: "unknown cancellation reason \(code)")
        }
    }

    private struct Writer {
        var bytes: [UInt8] = []

        init() { bytes.reserveCapacity(96) }

        mutating func tag(_ tag: Tag) { bytes.append(tag.rawValue) }
        mutating func byte(_ value: UInt8) { bytes.append(value) }

        mutating func varint(_ value: UInt64) {
            var value = value
            while value >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
                value >>= 7
            }
            bytes.append(UInt8(value))
        }

        mutating func id(_ id: OperationID) {
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: id.high >> UInt64(shift))) }
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: id.low >> UInt64(shift))) }
        }

        mutating func bytes(_ data: Data) {
            varint(UInt64(data.count))
            bytes.append(contentsOf: data)
        }

        mutating func string(_ text: String) {
            let utf8 = text.utf8
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }

        mutating func optionalString(_ text: String?) {
            guard let text else { return byte(0) }
            byte(1)
            string(text)
        }

        /// The date's own 8 bytes (seconds since 2001 as a `Double`), so it reads back exactly.
        mutating func date(_ date: Date) {
            let bits = date.timeIntervalSinceReferenceDate.bitPattern
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        }
    }

    private struct Reader {
        private let bytes: [UInt8]
        private var position = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var isAtEnd: Bool { position == bytes.count }
        var remaining: Int { bytes.count - position }

        mutating func record() throws -> JournalRecord {
            let code = try byte()
            guard let tag = Tag(rawValue: code) else { throw DecodingFailure(description: "unknown record tag \(code)") }
            switch tag {
            case .submitted:
                let id = try id()
                let operation = try string()
                let input = try data()
                let owner = try optionalString()
                let objectKey = try optionalString()
                let created = try date()
                let due = try date()
                let idempotencyKey = try optionalString()
                let count = try count(limit: 1 << 16)
                var dependencies: [OperationID] = []
                for _ in 0..<count { dependencies.append(try self.id()) }
                let runsNow = try byte() == 1
                let attempt = try self.count(limit: Int(Int32.max))
                let roundStart = try self.count(limit: Int(Int32.max))
                return .submitted(JournalSubmission(
                    id: id, operation: operation, input: input, owner: owner, objectKey: objectKey, created: created, due: due,
                    idempotencyKey: idempotencyKey, dependencies: dependencies, runsNow: runsNow, attempt: attempt, roundStart: roundStart))
            case .started:
                return .started(try id(), attempt: try count(limit: Int(Int32.max)))
            case .requeued:
                return .requeued(try id(), due: try date(), error: try string())
            case .succeeded:
                return .succeeded(try id(), output: try data(), at: try date(), expires: try date())
            case .failed:
                let id = try id()
                let kind: OperationFailure.Kind
                switch try byte() {
                case 0: kind = .thrown
                case 1: kind = .timedOut
                case 2: kind = .cancelled
                case 3: kind = .interrupted
                case let other: throw DecodingFailure(description: "unknown failure kind \(other)")
                }
                return .failed(id, OperationFailure(kind, try string()), at: try date())
            case .retried:
                let id = try id()
                let input = try byte() == 1 ? try data() : nil
                return .retried(id, correctedInput: input, at: try date())
            case .cancelled:
                return .cancelled(try id(), try JournalCodec.reason(try byte()), at: try date())
            case .consumed:
                return .consumed(try id(), at: try date())
            case .rejected:
                return .rejected(try id())
            case .deferred:
                return .deferred(try id())
            case .tombstone:
                let id = try id()
                let operation = try string()
                let owner = try optionalString()
                let code = try byte()
                let state: OperationState = code == 0 ? .succeeded : .cancelled(try JournalCodec.reason(code))
                return .tombstone(JournalTombstone(
                    id: id, operation: operation, owner: owner, state: state, consumed: try byte() == 1, at: try date(),
                    idempotencyKey: try optionalString(), created: try date()))
            }
        }

        mutating func byte() throws -> UInt8 {
            guard position < bytes.count else { throw DecodingFailure(description: "the record ends early") }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func varint() throws -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let byte = try byte()
                guard shift < 64 else { throw DecodingFailure(description: "an integer is too long") }
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
        }

        mutating func count(limit: Int) throws -> Int {
            let value = try varint()
            guard value <= UInt64(limit) else { throw DecodingFailure(description: "a count of \(value) is out of range") }
            return Int(value)
        }

        /// A length prefix, checked against the bytes left after it.
        mutating func length() throws -> Int {
            let value = try varint()
            guard value <= UInt64(remaining) else { throw DecodingFailure(description: "a length of \(value) runs past the record") }
            return Int(value)
        }

        mutating func id() throws -> OperationID {
            guard remaining >= 16 else { throw DecodingFailure(description: "the record ends inside an ID") }
            var high: UInt64 = 0
            var low: UInt64 = 0
            for index in 0..<8 { high = high << 8 | UInt64(bytes[position + index]) }
            for index in 8..<16 { low = low << 8 | UInt64(bytes[position + index]) }
            position += 16
            return OperationID(high: high, low: low)
        }

        mutating func data() throws -> Data {
            let count = try length()
            defer { position += count }
            return Data(bytes[position..<position + count])
        }

        mutating func string() throws -> String {
            let count = try length()
            defer { position += count }
            guard let text = String(validating: bytes[position..<position + count], as: UTF8.self) else {
                throw DecodingFailure(description: "a string is not valid UTF-8")
            }
            return text
        }

        mutating func optionalString() throws -> String? {
            switch try byte() {
            case 0: return nil
            case 1: return try string()
            case let other: throw DecodingFailure(description: "unknown optional marker \(other)")
            }
        }

        mutating func date() throws -> Date {
            guard remaining >= 8 else { throw DecodingFailure(description: "the record ends inside a date") }
            var bits: UInt64 = 0
            for index in 0..<8 { bits = bits << 8 | UInt64(bytes[position + index]) }
            position += 8
            return Date(timeIntervalSinceReferenceDate: Double(bitPattern: bits))
        }
    }
}
