import Foundation

/// The actor that owns retry, ordered and cascading deletion, and dependencies.
///
/// It is never on the path of an operation that succeeds without dependents: workers
/// notify it only of cancellations and of successes that others wait for. Deletions that
/// share an object are serialized here, so they never interleave their reservations: the
/// actor is reentrant, and a deletion suspends at every mailbox it reserves on, so one
/// that arrives meanwhile for the same object waits for it to end (``delete(_:followers:)``).
actor Supervisor {
    /// What workers and mailboxes report.
    enum Notice: Sendable {
        /// This operation, which others depend on, succeeded.
        case dependencySucceeded(OperationID)
        /// These operations were cancelled or deleted; their dependents go with them.
        case removed([OperationID])
        /// This run-now operation, registered as waiting for `dependencies`, was refused
        /// before it ran: the registrations go.
        case refused(OperationID, dependencies: [OperationID])
    }

    private var machine = SupervisorStateMachine()
    /// How many notices workers and mailboxes have sent (to prove successes stay off this actor).
    private(set) var noticesHandled = 0
    private let directory: MailboxDirectory
    /// Which deletions hold which objects, and which wait for them.
    private var claims = DeletionClaims()
    /// Deletions waiting for their objects, by ticket. Deletions are rare and not on any
    /// operation's path, so a continuation each costs nothing that matters.
    private var waitingDeletions: [Int: CheckedContinuation<Void, Never>] = [:]
    /// How many deletions wait for another to end (for tests).
    var waitingDeletionCount: Int { waitingDeletions.count }
    /// How many dependencies have dependents registered (for tests).
    var dependencyCount: Int { machine.dependencyCount }

    init(directory: MailboxDirectory) {
        self.directory = directory
    }

    func handle(_ notice: Notice) async {
        noticesHandled += 1
        switch notice {
        case .dependencySucceeded(let id):
            for key in machine.dependencySucceeded(id) {
                await directory.existing(key)?.dependenciesChanged()
            }
        case .removed(let ids):
            _ = await cascade(ids)
        case .refused(let id, let dependencies):
            machine.unregister(id, dependencies: dependencies)
        }
    }

    func register(_ dependent: OperationID, on key: ObjectKey, dependencies: [OperationID]) {
        machine.register(dependent, on: key, dependencies: dependencies)
    }

    /// Forgets a registration whose submission was refused after it was made.
    func unregister(_ dependent: OperationID, dependencies: [OperationID]) {
        machine.unregister(dependent, dependencies: dependencies)
    }

    func retry(_ id: OperationID, on key: ObjectKey, replacing job: Job?, encoded: Data?) async throws {
        guard let mailbox = directory.existing(key) else {
            throw DocketError(.notRetryable, "Operation \(id) is not failed, so it cannot be retried.", operationID: id)
        }
        try await mailbox.retry(id, replacing: job, encoded: encoded)
    }

    /// Deletes the operations as one step per object: every object's part is checked and
    /// reserved first, and only when all parts are valid are they applied. Returns what was
    /// removed, dependents included.
    ///
    /// One deletion at a time per object: a line's reservation is one mark per entry, which
    /// a commit or a release clears for the whole line, so a second deletion reserving on a
    /// line while the first waits on another mailbox would lose its marks and could remove
    /// an entry that started. Deletions on other objects go ahead: one object whose line is
    /// busy in a long synchronous body holds up only the deletions that touch it.
    func delete(_ targets: [(OperationID, ObjectKey)], followers: FollowerPolicy?) async throws -> [(OperationID, CancellationReason)] {
        let objects = Set(targets.map(\.1))
        await claim(objects)
        defer { release(objects) }
        return try await deleteAlone(targets, followers: followers)
    }

    /// Waits until this deletion holds `objects` (``DeletionClaims``: first come, first
    /// served per object). The request and the wait's registration run without a suspension
    /// between them, on this actor, so no release can grant the ticket before it is waited on.
    private func claim(_ objects: Set<ObjectKey>) async {
        guard case .wait(let ticket) = claims.request(objects) else { return }
        await withCheckedContinuation { waitingDeletions[ticket] = $0 }
    }

    /// Ends a deletion: frees its objects and resumes the waiting deletions that now hold theirs.
    private func release(_ objects: Set<ObjectKey>) {
        for ticket in claims.release(objects) {
            waitingDeletions.removeValue(forKey: ticket)?.resume()
        }
    }

    private func deleteAlone(_ targets: [(OperationID, ObjectKey)], followers: FollowerPolicy?) async throws -> [(OperationID, CancellationReason)] {
        var byObject: [ObjectKey: Set<OperationID>] = [:]
        var order: [ObjectKey] = []
        for (id, key) in targets {
            if byObject[key] == nil { order.append(key) }
            byObject[key, default: []].insert(id)
        }
        var prepared: [Mailbox] = []
        for key in order {
            let ids = byObject[key]!
            guard let mailbox = directory.existing(key) else {
                for mailbox in prepared { await mailbox.releaseDeletion() }
                throw DocketError(.notDeletable, "Operation \(ids.first!) is no longer queued or failed, so it cannot be deleted.", operationID: ids.first)
            }
            if let refusal = await mailbox.prepareDeletion(ids, followers: followers) {
                await mailbox.releaseDeletion()
                for mailbox in prepared { await mailbox.releaseDeletion() }
                throw Self.error(for: refusal)
            }
            prepared.append(mailbox)
        }
        var removed: [(OperationID, CancellationReason)] = []
        for (key, mailbox) in zip(order, prepared) {
            removed += await mailbox.commitDeletion(byObject[key]!, followers: followers)
        }
        removed += await cascade(removed.map(\.0))
        return removed
    }

    /// Cancels, transitively, every queued operation that depends on a removed one.
    private func cascade(_ ids: [OperationID]) async -> [(OperationID, CancellationReason)] {
        var removed: [(OperationID, CancellationReason)] = []
        var frontier = ids
        while !frontier.isEmpty {
            let victims = machine.operationsRemoved(frontier)
            frontier = []
            for victim in victims {
                guard let mailbox = directory.existing(victim.key) else { continue }
                for id in await mailbox.cancelQueuedReporting(victim.id, reason: .dependencyDeleted) {
                    removed.append((id, .dependencyDeleted))
                    frontier.append(id)
                }
            }
        }
        return removed
    }

    private static func error(for refusal: Mailbox.Machine.Refusal) -> DocketError {
        switch refusal {
        case .running(let id):
            DocketError(.notDeletable, "Operation \(id) is running; only waiting, delayed or failed operations can be deleted. Cancel it instead.", operationID: id)
        case .notInLine(let id), .notBlockedBy(let id), .failed(let id):
            DocketError(.notDeletable, "Operation \(id) is no longer queued or failed, so it cannot be deleted.", operationID: id)
        case .deletionInProgress(let id):
            DocketError(.notDeletable, "Operation \(id) is being deleted by another request. Check its status once that request ends.", operationID: id)
        case .followerChoiceRequired(let failed, let followers):
            DocketError(
                .followerChoiceRequired,
                "Failed operation \(failed) has \(followers) queued follower(s). Delete again saying .keep (the object resumes with them) or .cascade (they are deleted too).",
                operationID: failed)
        }
    }
}
