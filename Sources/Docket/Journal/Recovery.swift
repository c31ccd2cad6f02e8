import Foundation

/// Rebuilding an engine from its store's records at open.
extension Engine {
    /// Restores every operation the store's records add up to, in submission order, before
    /// anything else runs. Checks first that every named definition is registered, so an
    /// unknown name refuses the open without restoring anything.
    func restore(from store: any DocketStore) async throws -> RecoveryReport {
        guard let journal else { return RecoveryReport() }
        var state = JournalState(try store.recover())
        let now = clock.now()
        state.age(now: journal.date(now), tombstoneLifetime: configuration.tombstoneLifetime)
        let operations = state.ordered
        var definitions: [String: ErasedDefinition] = [:]
        for operation in operations where definitions[operation.submission.operation] == nil {
            let name = operation.submission.operation
            guard let definition = try? registry.definition(named: name) else {
                throw DocketError(
                    .unknownOperation,
                    "The journal holds operation \(operation.submission.id) of \"\(name)\", which is not registered. Register every operation the journal names before opening it.",
                    operationID: operation.submission.id)
            }
            definitions[name] = definition
        }
        var report = RecoveryReport()
        // Lines whose restored entries wait in their inbox: each takes them in with one turn
        // at the end, rather than one turn per operation.
        var unattended: [Mailbox] = []
        for operation in operations {
            await restore(
                operation, definition: definitions[operation.submission.operation]!, journal: journal, now: now,
                into: &report, unattended: &unattended)
        }
        for mailbox in unattended { await mailbox.takeInbox() }
        try await journal.settle()
        return report
    }

    private func restore(
        _ operation: JournalState.Operation, definition: ErasedDefinition, journal: JournalWriter, now: Duration,
        into report: inout RecoveryReport, unattended: inout [Mailbox]
    ) async {
        let submission = operation.submission
        let id = submission.id
        // A run-now submission that never started is abandoned (below), and keeps no key:
        // its caller will ask again.
        let abandoned = if case .queued = operation.phase, submission.runsNow, submission.attempt == 0 { true } else { false }
        if let key = submission.idempotencyKey, !abandoned {
            idempotency.restore(
                owner: submission.owner, key: key, operation: submission.operation, id: id,
                created: journal.offset(submission.created), now: now)
        }
        switch operation.phase {
        case .ended(let tombstone):
            tracker.restoreTombstone(
                id, definition: definition, owner: submission.owner, state: tombstone.state, consumed: tombstone.consumed,
                at: journal.offset(tombstone.at))
            report.tombstones += 1
        case .succeeded(let output, let at, let expires):
            guard let payload = try? definition.decodeOutput(output) else {
                // The output no longer decodes (the definition's type changed): it reads as expired.
                tracker.restoreTombstone(id, definition: definition, owner: submission.owner, state: .succeeded, consumed: false, at: journal.offset(at))
                report.tombstones += 1
                return
            }
            var record = self.record(of: submission, definition: definition, journal: journal)
            record.state = .succeeded
            record.progress = 100
            record.finished = journal.offset(at)
            record.expires = journal.offset(expires)
            tracker.restore(id, record, success: payload)
            report.results += 1
        case .failed(let failure, let at, let read):
            guard let input = try? definition.decodeInput(submission.input) else {
                return await restoreUndecodable(submission, definition: definition, journal: journal, now: now, into: &report)
            }
            await restoreFailed(submission, definition: definition, input: input, read: read, journal: journal, failure: failure, at: journal.offset(at), record: false)
            report.failed += 1
        case .running where !definition.isIdempotent:
            let failure = OperationFailure(
                .interrupted,
                "A restart interrupted attempt \(submission.attempt) of this operation, which is not declared idempotent, so it was not run again. Check its effects, then retry or delete it.")
            let input = try? definition.decodeInput(submission.input)
            await restoreFailed(submission, definition: definition, input: input, read: false, journal: journal, failure: failure, at: now, record: true)
            report.interrupted += 1
        case .queued where abandoned:
            // A run-now submission that never started: its caller, waiting for the outcome,
            // is gone and will have been told nothing, so it will ask again. Running it now,
            // deferred, would run it twice (and a non-queueable one deferred at all).
            journal.append(.rejected(id))
            tracker.restoreRejection(id, owner: submission.owner, error: DocketError(
                .notFound,
                "Run-now operation \(id) was abandoned by a restart before it started: it did not run, and it will not. Run it again if it is still wanted.",
                operationID: id))
            report.abandoned += 1
        case .queued, .running:
            guard let input = try? definition.decodeInput(submission.input) else {
                return await restoreUndecodable(submission, definition: definition, journal: journal, now: now, into: &report)
            }
            if case .running = operation.phase { report.rerun += 1 } else { report.queued += 1 }
            var record = self.record(of: submission, definition: definition, journal: journal)
            record.errorText = operation.lastError
            tracker.restore(id, record)
            // As the live engine judges them: a cancelled dependency breaks it; one that is gone
            // (its tombstone's window ended) had succeeded; a live one must still succeed.
            var pending: [OperationID] = []
            switch tracker.dependencyState(submission.dependencies) {
            case .broken:
                tracker.markCancelled(id, reason: .dependencyDeleted)
                report.cancelled += 1
                return
            case .satisfied:
                break
            case .pending:
                pending = (try? tracker.registerDependencies(submission.dependencies.filter(tracker.isLive), owner: submission.owner)) ?? []
            }
            claimQueuedSlot()
            let key = ObjectKey(owner: submission.owner, key: submission.objectKey, id: id)
            if !pending.isEmpty { await supervisor.register(id, on: key, dependencies: pending) }
            var entry = Mailbox.Machine.Entry(
                id: id, sequence: tracker.cipher.sequence(of: id), job: Job(definition: definition, input: input), due: record.due,
                dependencies: pending)
            entry.attempt = submission.attempt
            entry.roundStart = submission.roundStart
            if let mailbox = enqueueRestored(entry, on: key) { unattended.append(mailbox) }
        }
    }

    /// An operation whose journaled input no longer decodes (its definition's type changed)
    /// fails and blocks its object: a person retries it with corrected input or deletes it.
    private func restoreUndecodable(
        _ submission: JournalSubmission, definition: ErasedDefinition, journal: JournalWriter, now: Duration, into report: inout RecoveryReport
    ) async {
        let failure = OperationFailure(
            .interrupted,
            "The journaled input of \"\(definition.name)\" no longer decodes as its input type. Retry it with corrected input, or delete it.")
        await restoreFailed(submission, definition: definition, input: nil, read: false, journal: journal, failure: failure, at: now, record: true)
        report.failed += 1
    }

    /// The tracking record of a restored operation, before its state is set.
    private func record(of submission: JournalSubmission, definition: ErasedDefinition, journal: JournalWriter) -> TrackingRecord {
        var record = TrackingRecord(
            definition: definition, owner: submission.owner, objectKey: submission.objectKey,
            created: journal.offset(submission.created), runsNow: false, due: journal.offset(submission.due), restored: true)
        record.attempt = submission.attempt
        return record
    }

    /// Restores a failed operation at the head of its object, which it blocks. With `record`,
    /// the failure is new (an interrupted run, an input that no longer decodes) and is journaled.
    private func restoreFailed(
        _ submission: JournalSubmission, definition: ErasedDefinition, input: (any Sendable)?, read: Bool, journal: JournalWriter,
        failure: OperationFailure, at: Duration, record isNew: Bool
    ) async {
        let id = submission.id
        var record = self.record(of: submission, definition: definition, journal: journal)
        record.state = .failed
        record.finished = at
        record.errorText = failure.message
        record.failure = failure
        record.consumed = read
        tracker.restore(id, record)
        if isNew { journal.append(.failed(id, failure, at: journal.date(at))) }
        let key = MailboxDirectory.Key(ObjectKey(owner: submission.owner, key: submission.objectKey, id: id))
        // Without input the retry must bring corrected input; the entry holds the raw bytes meanwhile.
        var entry = Mailbox.Machine.Entry(
            id: id, sequence: tracker.cipher.sequence(of: id), job: Job(definition: definition, input: input ?? submission.input), due: at)
        entry.attempt = submission.attempt
        entry.roundStart = submission.roundStart
        while true {
            let mailbox = directory.mailbox(for: key) { Mailbox(key: key, engine: self) }
            // A retired line left the directory: take a fresh one. A line that is not empty
            // cannot be, since a failure blocked everything submitted after it; should a
            // journal say otherwise, the failure stays on record without heading the line.
            if await mailbox.restoreFailed(entry) != nil { return }
        }
    }

    /// Puts a restored entry in its line's inbox; returns the mailbox when it needs a turn to
    /// take its inbox in (once per line: later entries find it attended).
    private func enqueueRestored(_ entry: Mailbox.Machine.Entry, on objectKey: ObjectKey) -> Mailbox? {
        let key = MailboxDirectory.Key(objectKey)
        while true {
            let mailbox = directory.mailbox(for: key) { Mailbox(key: key, engine: self) }
            switch mailbox.submit(entry) {
            case .accepted(let needsTurn, _):
                return needsTurn ? mailbox : nil
            case .retired, .blocked:
                // Restored entries never run now, so only a retired line refuses.
                continue
            }
        }
    }
}
