/// The name of a file in a journal directory, parsed.
///
/// Names are `segment-` followed by the number as 16 lowercase hexadecimal digits, so that the
/// lexical order of names is the numeric order over the whole `UInt64` range, then a suffix:
///
/// - `segment-<n>.log`: a segment the writer appends to.
/// - `segment-<n>.snapshot.log`: a snapshot that replaces every segment numbered `n` or lower.
///   It sorts after `segment-<n>.log` and before `segment-<n+1>.log`, which is where its records
///   belong in the log.
/// - `segment-<n>.snapshot.tmp`: a snapshot being written; never read, and deleted on open.
struct SegmentFileName: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// What a file holds.
    enum Kind: Int, Sendable {
        /// An append-only segment.
        case segment = 0
        /// A complete snapshot of everything up to and including its number.
        case snapshot = 1
        /// A snapshot still being written.
        case snapshotTemp = 2

        var suffix: String {
            switch self {
            case .segment: ".log"
            case .snapshot: ".snapshot.log"
            case .snapshotTemp: ".snapshot.tmp"
            }
        }
    }

    /// The segment number.
    let number: UInt64
    /// What the file holds.
    let kind: Kind

    /// A name for the segment or snapshot `number`.
    init(_ number: UInt64, _ kind: Kind) {
        self.number = number
        self.kind = kind
    }

    /// Parses a file name; `nil` for a name the journal did not make (such files are left alone).
    init?(_ name: String) {
        let prefix = "segment-"
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        let digits = rest.prefix(16)
        guard digits.count == 16, digits.allSatisfy({ $0.isHexDigit && !$0.isUppercase }),
            let number = UInt64(digits, radix: 16)
        else { return nil }
        let suffix = rest.dropFirst(16)
        guard let kind = [Kind.segment, .snapshot, .snapshotTemp].first(where: { $0.suffix == suffix }) else { return nil }
        self.init(number, kind)
    }

    /// The file name.
    var description: String {
        let hex = String(number, radix: 16)
        return "segment-" + String(repeating: "0", count: 16 - hex.count) + hex + kind.suffix
    }

    /// Log order: by number, and a snapshot after the segment of the same number.
    static func < (lhs: SegmentFileName, rhs: SegmentFileName) -> Bool {
        (lhs.number, lhs.kind.rawValue) < (rhs.number, rhs.kind.rawValue)
    }
}
