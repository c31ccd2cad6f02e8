/// Building a table's empty slots.
///
/// `Array(repeating:count:)` copies its one value into every place through the type's
/// outlined copy, a call per element; for a slot holding a reference (an empty one holds
/// `nil`), that was a tenth of the time spent inserting into a growing record table. This
/// builds each slot in place instead.
extension Array {
    /// `count` elements, each made by `make`.
    init(count: Int, each make: () -> Element) {
        self.init(unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count { (buffer.baseAddress! + index).initialize(to: make()) }
            initialized = count
        }
    }
}
