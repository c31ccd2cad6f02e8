/// Which deletions may go ahead: one at a time per object, first come, first served.
///
/// A deletion asks for the objects it touches. It is granted them when no deletion holds
/// any of them and no deletion that asked earlier still waits for any of them; otherwise it
/// waits its turn. A waiting deletion keeps its objects from later ones, so a deletion over
/// several objects is not overtaken for ever by deletions of one object each, while
/// deletions of other objects go ahead. Free of concurrency: the ``Supervisor`` keeps one
/// and resumes the deletions it grants.
struct DeletionClaims: Sendable {
    /// What a deletion that asks for its objects is told.
    enum Answer: Equatable, Sendable {
        /// It holds its objects now.
        case granted
        /// It waits; ``release(_:)`` names this ticket when it holds them.
        case wait(ticket: Int)
    }

    private var held: Set<ObjectKey> = []
    private var waiting: [(ticket: Int, objects: Set<ObjectKey>)] = []
    private var nextTicket = 0

    init() {}

    /// How many deletions wait for their objects.
    var waitingCount: Int { waiting.count }

    /// A deletion asks for `objects`.
    mutating func request(_ objects: Set<ObjectKey>) -> Answer {
        if held.isDisjoint(with: objects), waiting.allSatisfy({ $0.objects.isDisjoint(with: objects) }) {
            held.formUnion(objects)
            return .granted
        }
        let ticket = nextTicket
        nextTicket += 1
        waiting.append((ticket, objects))
        return .wait(ticket: ticket)
    }

    /// A deletion that held `objects` ended. Returns the tickets of the waiting deletions
    /// that hold their objects now, in the order they asked.
    mutating func release(_ objects: Set<ObjectKey>) -> [Int] {
        held.subtract(objects)
        var granted: [Int] = []
        // The objects of earlier deletions still waiting: no later one may take them.
        var spoken: Set<ObjectKey> = []
        var stillWaiting: [(ticket: Int, objects: Set<ObjectKey>)] = []
        for deletion in waiting {
            if held.isDisjoint(with: deletion.objects), spoken.isDisjoint(with: deletion.objects) {
                held.formUnion(deletion.objects)
                granted.append(deletion.ticket)
            } else {
                spoken.formUnion(deletion.objects)
                stillWaiting.append(deletion)
            }
        }
        waiting = stillWaiting
        return granted
    }
}
