/// When a worker's turn on one line ends: a decision taken after every operation of the
/// turn, free of concurrency.
///
/// A turn may always run ``budget`` operations (with the pool's gate open). Past that, the
/// line goes back to the ready queue if another mailbox waits for a worker; if none waits,
/// the worker keeps the line but ends the turn, gives its thread back to the cooperative
/// pool and starts another turn, so that bodies that never suspend do not keep the
/// server's other tasks off the pool's threads.
///
/// A line that runs alone (no mailbox waiting and no other docket worker holding one)
/// holds one of the pool's threads and leaves the others to the server's tasks, so its turn
/// runs on past the budget until its ``deadline``, a slice of time after the worker last
/// gave its thread up (200 µs by default): every yield costs a thread wake-up, which with
/// trivial bodies every 32 operations took about 6% more CPU time. With other workers busy,
/// each worker's stretch adds to how long another task waits for a thread, so turns keep to
/// the budget. The clock is read only at every ``budget``-th operation of the turn, so a
/// turn overruns its deadline by at most ``budget`` operations.
struct TurnLimit: Sendable {
    /// The operations a turn may always run.
    let budget: Int
    /// When a lone line's turn ends, past its budget.
    let deadline: ContinuousClock.Instant

    /// A lone line's slice by default: how long past its budget its turn may run.
    static let slice = Duration.microseconds(200)

    /// Whether the turn runs another operation after its `ran`-th, `ran` at or past the
    /// budget and no other mailbox waiting: only while the line runs `alone`, and, at every
    /// `budget`-th operation, only while `now` is before the deadline.
    func continuesPastBudget(after ran: Int, alone: Bool, now: () -> ContinuousClock.Instant) -> Bool {
        guard alone else { return false }
        return ran % budget != 0 || now() < deadline
    }
}
