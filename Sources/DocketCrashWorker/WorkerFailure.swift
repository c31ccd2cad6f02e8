/// Why a worker life ended other than by completing its plan or being killed.
enum WorkerFailure: Error, CustomStringConvertible {
    /// A file could not be opened, read or written.
    case io(String)
    /// The docket broke a promise the crash test checks: a lost operation, an unexpected
    /// failure, a result of the wrong operation.
    case broken(String)
    /// The docket refused something the plan needs (its error, as text).
    case refused(String)

    /// The exit status: 1 for I/O and refusals, 3 for a broken promise.
    var status: Int32 {
        switch self {
        case .io, .refused: 1
        case .broken: 3
        }
    }

    var description: String {
        switch self {
        case .io(let text): "I/O: \(text)"
        case .broken(let text): "broken: \(text)"
        case .refused(let text): "refused: \(text)"
        }
    }
}
