import Docket
import Foundation

/// One life of the worker: opens the journal, reports what it restored, checks that every
/// acknowledged submit survived, retries the operations a crash interrupted, submits what
/// the plan still lacks, takes every result and closes.
///
/// Side-file lines, one per event (the crash test reads them back):
/// - `life <pid>` as the life starts;
/// - `submitted <label> <id>` once `submit` returned (so every such line is an acknowledged submit);
/// - `interrupted <id> <attempt>` for a failed operation found at start, just before retrying it;
/// - `run …` and `done …` from the bodies (see ``CrashOperations``);
/// - `taken <label> <id>` once a result was handed out, `consumed <label> <id>` for one taken before;
/// - `complete <count>` when every planned operation has been taken.
struct CrashWorker {
    let options: WorkerOptions
    let plan: CrashPlan

    /// Runs the life to completion and returns its summary line.
    func run() async throws(WorkerFailure) -> String {
        let earlier = try SideFile.lines(at: options.side)
        let side = try SideFile(path: options.side)
        side.append("life \(getpid())")
        let acknowledged = try Self.acknowledged(in: earlier)
        let journal: FileJournal
        let store: CountingStore
        let docket: Docket
        let operations = CrashOperations(side: side)
        do {
            journal = try FileJournal(
                directory: URL(fileURLWithPath: options.journal), compactionThreshold: options.compactAt ?? 64 << 20)
            store = CountingStore(journal: journal, killAfter: options.killAfterWrites)
            docket = try await Docket(
                registry: operations.registry(), configuration: DocketConfiguration(maxConcurrentOperations: 8), store: store)
        } catch {
            throw .refused("cannot open the docket on \(options.journal): \(error)")
        }
        let recovery = docket.recovery
        Output.line(
            "recovered queued=\(recovery.queued) failed=\(recovery.failed) interrupted=\(recovery.interrupted) rerun=\(recovery.rerun)"
                + " results=\(recovery.results) tombstones=\(recovery.tombstones) acknowledged=\(acknowledged.count)")

        try checkPresent(acknowledged, in: docket)
        let retried = try await retryInterrupted(in: docket, side: side)
        let submitted = try await submitRemaining(skipping: acknowledged, to: docket, operations: operations, side: side)
        let ids = acknowledged.merging(submitted) { first, _ in first }
        let (taken, consumed) = try await takeResults(ids, from: docket, side: side)
        side.append("complete \(plan.entries.count)")
        _ = await docket.shutdown(gracePeriod: .seconds(5))
        return "complete ops=\(plan.entries.count) submitted=\(submitted.count) retried=\(retried) taken=\(taken)"
            + " consumed=\(consumed) appends=\(store.appendCount) syncs=\(journal.syncCount) compactions=\(journal.compactionCount)"
    }

    /// The acknowledged submits the side file records, by label.
    static func acknowledged(in lines: [Substring]) throws(WorkerFailure) -> [String: OperationID] {
        var acknowledged: [String: OperationID] = [:]
        for line in lines where line.hasPrefix("submitted ") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let id = OperationID(String(fields[2])) else { throw .io("malformed side-file line \"\(line)\"") }
            let label = String(fields[1])
            if let known = acknowledged[label], known != id {
                throw .broken("label \(label) was acknowledged as two operations, \(known) and \(id)")
            }
            acknowledged[label] = id
        }
        return acknowledged
    }

    /// Every submit that returned before the crash must be known after it.
    private func checkPresent(_ acknowledged: [String: OperationID], in docket: Docket) throws(WorkerFailure) {
        for (label, id) in acknowledged.sorted(by: { $0.key < $1.key }) {
            do {
                _ = try docket.status(of: id)
            } catch {
                throw .broken("operation \(label) (\(id)) was acknowledged before the crash and is missing after it: \(error)")
            }
        }
    }

    /// Retries every operation a crash left failed; each must have failed as interrupted.
    private func retryInterrupted(in docket: Docket, side: SideFile) async throws(WorkerFailure) -> Int {
        let blocked = await docket.metrics().blockedObjects
        for object in blocked {
            let id = object.failedOperation
            let status: OperationStatus
            do {
                status = try docket.status(of: id)
            } catch {
                throw .broken("blocked object \(object.objectKey ?? "-") names \(id), which has no status: \(error)")
            }
            guard status.state == .failed, status.errorText?.contains("restart interrupted") == true else {
                throw .broken("operation \(id) on \(object.objectKey ?? "-") is \(status.state), not interrupted: \(status.errorText ?? "no error")")
            }
            side.append("interrupted \(id) \(status.attempt)")
            do {
                try await docket.retry(id)
            } catch {
                throw .refused("retrying interrupted operation \(id): \(error)")
            }
        }
        return blocked.count
    }

    /// Submits, object by object and in each object's order, every planned operation not yet
    /// acknowledged; objects are submitted concurrently. The label is the idempotency key, so
    /// a submit that was journaled but not acknowledged before the crash returns its operation.
    private func submitRemaining(
        skipping acknowledged: [String: OperationID], to docket: Docket, operations: CrashOperations, side: SideFile
    ) async throws(WorkerFailure) -> [String: OperationID] {
        do {
            return try await withThrowingTaskGroup(of: [(String, OperationID)].self) { group in
                for line in plan.byObject {
                    let pending = line.filter { acknowledged[$0.label] == nil }
                    if pending.isEmpty { continue }
                    group.addTask {
                        var submitted: [(String, OperationID)] = []
                        for entry in pending {
                            let handle = try await docket.submit(
                                operations.definition(for: entry.kind), input: CrashInput(label: entry.label),
                                options: SubmitOptions(objectKey: entry.objectKey, idempotencyKey: entry.label))
                            side.append("submitted \(entry.label) \(handle.id)")
                            submitted.append((entry.label, handle.id))
                        }
                        return submitted
                    }
                }
                var all: [String: OperationID] = [:]
                for try await batch in group {
                    for (label, id) in batch { all[label] = id }
                }
                return all
            }
        } catch {
            throw .refused("submitting: \(error)")
        }
    }

    /// Waits for every planned operation and takes its result; each must have succeeded with
    /// its own output, or have been taken in an earlier life.
    private func takeResults(
        _ ids: [String: OperationID], from docket: Docket, side: SideFile
    ) async throws(WorkerFailure) -> (taken: Int, consumed: Int) {
        var taken = 0
        var consumed = 0
        for entry in plan.entries {
            guard let id = ids[entry.label] else { throw .broken("operation \(entry.label) has no ID after submitting") }
            switch await docket.outcome(of: id) {
            case .finished(.success(let payload)):
                let output = payload.decode(as: String.self)
                guard output == CrashOperations.output(of: entry.label) else {
                    throw .broken("operation \(entry.label) (\(id)) returned \(output ?? "a non-string"), not its own output")
                }
                side.append("taken \(entry.label) \(id)")
                taken += 1
            case .consumed:
                side.append("consumed \(entry.label) \(id)")
                consumed += 1
            case .finished(.failure(let failure)):
                throw .broken("operation \(entry.label) (\(id)) failed: \(failure.kind) \(failure.message)")
            case .notFinished(let state):
                throw .broken("operation \(entry.label) (\(id)) is still \(state) after its outcome was awaited")
            case .notFound:
                throw .broken("operation \(entry.label) (\(id)) is not found")
            }
        }
        return (taken, consumed)
    }
}
