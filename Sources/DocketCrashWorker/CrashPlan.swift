import Docket

/// The operations one seed stands for: for each, its object, its definition and its label.
///
/// A label names the object and the operation's place in that object's line, `o12#5` for
/// the fifth operation on object 12, so a side-file line says where its operation belongs.
struct CrashPlan: Sendable {
    /// Which definition an operation is submitted with.
    enum Kind: String, Sendable {
        /// `step`: not idempotent; a restart that finds it running fails it as interrupted.
        case step
        /// `touch`: idempotent; a restart that finds it running runs it again.
        case touch
    }

    /// One planned operation.
    struct Entry: Sendable {
        /// `o<object>#<sequence>`.
        let label: String
        /// The object's index, also its key `o<object>`.
        let object: Int
        /// Its place in its object's line, from 1.
        let sequence: Int
        let kind: Kind

        /// The object key it is submitted on.
        var objectKey: String { "o\(object)" }
    }

    /// Every operation, in plan order.
    let entries: [Entry]
    /// Each object's operations in their per-object order.
    let byObject: [[Entry]]

    /// Plans `operations` operations over `objects` objects; three in five are steps.
    init(seed: UInt64, operations: Int, objects: Int) {
        var generator = SplitMix64(seed: seed)
        var byObject = [[Entry]](repeating: [], count: objects)
        var entries: [Entry] = []
        entries.reserveCapacity(operations)
        for _ in 0..<operations {
            let object = Int(generator.next() % UInt64(objects))
            let kind: Kind = generator.next() % 5 < 3 ? .step : .touch
            let sequence = byObject[object].count + 1
            let entry = Entry(label: "o\(object)#\(sequence)", object: object, sequence: sequence, kind: kind)
            byObject[object].append(entry)
            entries.append(entry)
        }
        self.entries = entries
        self.byObject = byObject
    }
}
