/// The side file of a crash run, read back: every line a worker life wrote, tagged with the
/// life that wrote it, and the checks a run must pass however it was killed.
///
/// A life starts with `life <pid>`; the other lines are described in the worker's
/// `CrashWorker`. Lines are in the order they reached the file, which for one object is the
/// order things happened: its operations run one at a time, and each body writes its `run`
/// line before and its `done` line after its only suspension point.
struct CrashLog {
    /// One planned operation, as `docket-crash-worker --print-plan` lists it.
    struct Planned: Hashable {
        let label: String
        let object: String
        let sequence: Int
        let isStep: Bool

        /// Parses `plan o12#5 step`.
        init?(line: Substring) {
            let fields = line.split(separator: " ")
            guard fields.count == 3, fields[0] == "plan", fields[2] == "step" || fields[2] == "touch" else { return nil }
            let parts = fields[1].split(separator: "#")
            guard parts.count == 2, let sequence = Int(parts[1]) else { return nil }
            label = String(fields[1])
            object = String(parts[0])
            self.sequence = sequence
            isStep = fields[2] == "step"
        }
    }

    /// A body's `run` or `done` line.
    struct Body: Hashable {
        let label: String
        let attempt: Int
        let id: String
    }

    enum Event: Hashable {
        case life
        case submitted(label: String, id: String)
        case interrupted(id: String, attempt: Int)
        case run(Body)
        case done(Body)
        case taken(label: String, id: String)
        case consumed(label: String, id: String)
        case complete
    }

    /// Every line, with the index of the life that wrote it (from 0).
    let events: [(life: Int, event: Event)]
    /// How many lives the file records.
    let lives: Int

    /// Parses a side file; a line it does not understand is a test failure, returned as text.
    init(text: String) throws(CrashLogError) {
        var events: [(Int, Event)] = []
        var life = -1
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            let event: Event
            switch (fields.first, fields.count) {
            case ("life", 2): event = .life
            case ("submitted", 3): event = .submitted(label: fields[1], id: fields[2])
            case ("interrupted", 3):
                guard let attempt = Int(fields[2]) else { throw CrashLogError(line: String(line)) }
                event = .interrupted(id: fields[1], attempt: attempt)
            case ("run", 5), ("done", 5):
                guard let attempt = Int(fields[3]) else { throw CrashLogError(line: String(line)) }
                let body = Body(label: fields[1], attempt: attempt, id: fields[4])
                event = fields[0] == "run" ? .run(body) : .done(body)
            case ("taken", 3): event = .taken(label: fields[1], id: fields[2])
            case ("consumed", 3): event = .consumed(label: fields[1], id: fields[2])
            case ("complete", 2): event = .complete
            default: throw CrashLogError(line: String(line))
            }
            if event == .life { life += 1 }
            guard life >= 0 else { throw CrashLogError(line: String(line)) }
            events.append((life, event))
        }
        self.events = events
        lives = life + 1
    }

    /// Runs per label: how often each body started, for the report.
    var runCounts: [String: Int] {
        var counts: [String: Int] = [:]
        for (_, event) in events { if case .run(let body) = event { counts[body.label, default: 0] += 1 } }
        return counts
    }

    /// The labels interrupted at some restart, by label.
    var interruptedLabels: [String: Int] {
        let labels = labelsByID
        var counts: [String: Int] = [:]
        for (_, event) in events { if case .interrupted(let id, _) = event { counts[labels[id] ?? id, default: 0] += 1 } }
        return counts
    }

    /// Each object's labels in the order their first `done` line appears.
    var completionOrder: [String: [String]] {
        var seen = Set<String>()
        var order: [String: [String]] = [:]
        for (_, event) in events {
            guard case .done(let body) = event, seen.insert(body.label).inserted else { continue }
            order[Self.object(of: body.label), default: []].append(body.label)
        }
        return order
    }

    /// The final state: each label taken or found consumed by the last life, as `succeeded`.
    var finalState: [String: String] {
        var state: [String: String] = [:]
        for (life, event) in events where life == lives - 1 {
            switch event {
            case .taken(let label, _), .consumed(let label, _): state[label] = "succeeded"
            default: continue
            }
        }
        return state
    }

    /// Every broken promise, as text; empty when the run kept them all.
    ///
    /// - Parameters:
    ///   - plan: The run's plan.
    ///   - completed: Whether the last life completed (else it was killed).
    func violations(plan: [Planned], completed: Bool) -> [String] {
        var found: [String] = []
        let planned = Dictionary(plan.map { ($0.label, $0) }, uniquingKeysWith: { first, _ in first })
        checkIdentity(planned, into: &found)
        checkSteps(planned, into: &found)
        checkOrderWithinLives(planned, completed: completed, into: &found)
        checkOrderAcrossLives(planned, into: &found)
        checkResults(plan, completed: completed, into: &found)
        return found
    }

    // MARK: The checks

    /// One operation per label: every line naming a label names the same ID, and only
    /// planned labels appear. (A lost acknowledged submit would surface here too: the worker
    /// stops with a broken promise when an acknowledged ID is unknown at restart.)
    private func checkIdentity(_ planned: [String: Planned], into found: inout [String]) {
        var ids: [String: String] = [:]
        for (life, event) in events {
            let named: (label: String, id: String)
            switch event {
            case .submitted(let label, let id), .taken(let label, let id), .consumed(let label, let id): named = (label, id)
            case .run(let body), .done(let body): named = (body.label, body.id)
            case .life, .interrupted, .complete: continue
            }
            if planned[named.label] == nil { found.append("life \(life): \(named.label) is not in the plan") }
            if let known = ids[named.label], known != named.id {
                found.append("life \(life): \(named.label) is operation \(named.id), but was \(known) before: two operations for one label")
            }
            ids[named.label] = ids[named.label] ?? named.id
        }
    }

    /// A non-idempotent body runs at most once per attempt; a later attempt follows an
    /// interruption of the one before, recorded when the worker retried it; only steps are
    /// ever interrupted (an idempotent operation is run again instead).
    private func checkSteps(_ planned: [String: Planned], into found: inout [String]) {
        let labels = labelsByID
        var interrupted = Set<String>()
        var ran = Set<Body>()
        for (life, event) in events {
            switch event {
            case .interrupted(let id, let attempt):
                interrupted.insert("\(id) \(attempt)")
                if let label = labels[id], planned[label]?.isStep == false {
                    found.append("life \(life): idempotent \(label) was failed as interrupted instead of run again")
                }
            case .run(let body) where planned[body.label]?.isStep == true:
                if !ran.insert(body).inserted {
                    found.append("life \(life): non-idempotent \(body.label) ran attempt \(body.attempt) twice")
                }
                if body.attempt > 1 && !interrupted.contains("\(body.id) \(body.attempt - 1)") {
                    found.append("life \(life): non-idempotent \(body.label) ran attempt \(body.attempt) without attempt \(body.attempt - 1) being interrupted and retried")
                }
            default:
                continue
            }
        }
    }

    /// Within one life, each object's bodies alternate `run s`, `done s`, `run s+1`, …: one at a
    /// time, in order, with no gap; only a killed life may end with a run that did not finish.
    private func checkOrderWithinLives(_ planned: [String: Planned], completed: Bool, into found: inout [String]) {
        /// An object's line in one life: the run not yet done, the last sequence done.
        struct Line {
            let life: Int
            var open: Body?
            var last: Int?
        }
        var lines: [String: Line] = [:]
        for (life, event) in events {
            switch event {
            case .run(let body):
                guard let entry = planned[body.label] else { continue }
                var line = lines[entry.object].flatMap { $0.life == life ? $0 : nil } ?? Line(life: life)
                if let open = line.open {
                    found.append("life \(life): \(body.label) started while \(open.label) was still running on its object")
                }
                if let last = line.last, entry.sequence != last + 1 {
                    found.append("life \(life): \(body.label) ran right after \(entry.object)#\(last) finished, not after #\(entry.sequence - 1)")
                }
                line.open = body
                lines[entry.object] = line
            case .done(let body):
                guard let entry = planned[body.label] else { continue }
                var line = lines[entry.object].flatMap { $0.life == life ? $0 : nil } ?? Line(life: life)
                if line.open != body {
                    found.append("life \(life): \(body.label) attempt \(body.attempt) finished without having started in this life")
                }
                line.open = nil
                line.last = entry.sequence
                lines[entry.object] = line
            default:
                continue
            }
        }
        if completed {
            for (object, line) in lines.sorted(by: { $0.key < $1.key }) where line.life == lives - 1 {
                if let open = line.open { found.append("last life: \(open.label) on \(object) never finished") }
            }
        }
    }

    /// Across lives: an operation runs only after the one before it on its object finished
    /// (in this life or an earlier one), so first runs come in per-object order. And a
    /// non-idempotent start is durable before its body runs, with everything before it on its
    /// object: once a step ran, nothing before it on that object runs in a later life.
    private func checkOrderAcrossLives(_ planned: [String: Planned], into found: inout [String]) {
        var finished = Set<String>()
        // object -> the highest step that ran on it, and the life it last ran in
        var fence: [String: (life: Int, sequence: Int)] = [:]
        for (life, event) in events {
            switch event {
            case .run(let body):
                guard let entry = planned[body.label] else { continue }
                if entry.sequence > 1, !finished.contains("\(entry.object)#\(entry.sequence - 1)") {
                    found.append("life \(life): \(body.label) ran before \(entry.object)#\(entry.sequence - 1) ever finished")
                }
                if let wall = fence[entry.object], wall.life < life, entry.sequence < wall.sequence {
                    found.append(
                        "life \(life): \(body.label) ran again although step \(entry.object)#\(wall.sequence) after it had started in life \(wall.life)")
                }
                if entry.isStep, entry.sequence >= fence[entry.object]?.sequence ?? 0 {
                    fence[entry.object] = (life, entry.sequence)
                }
            case .done(let body):
                finished.insert(body.label)
            default:
                continue
            }
        }
    }

    /// Results: each read-once result is handed out at most once across all lives; a
    /// completed run took (or found taken) every planned operation, each finished at least once.
    private func checkResults(_ plan: [Planned], completed: Bool, into found: inout [String]) {
        var taken: [String: Int] = [:]
        for (life, event) in events {
            guard case .taken(let label, _) = event else { continue }
            if let earlier = taken[label] { found.append("life \(life): the result of \(label) was handed out again (first in life \(earlier))") }
            taken[label] = life
        }
        guard completed else { return }
        if !events.contains(where: { $0.life == lives - 1 && $0.event == .complete }) {
            found.append("last life: no complete line")
        }
        var finished = Set<String>()
        for (_, event) in events { if case .done(let body) = event { finished.insert(body.label) } }
        let final = finalState
        for entry in plan {
            if !finished.contains(entry.label) { found.append("\(entry.label) never finished a run") }
            if final[entry.label] == nil { found.append("last life: \(entry.label) was neither taken nor found consumed") }
        }
    }

    // MARK: Helpers

    /// Labels by operation ID, from every line that names both.
    private var labelsByID: [String: String] {
        var labels: [String: String] = [:]
        for (_, event) in events {
            switch event {
            case .submitted(let label, let id), .taken(let label, let id), .consumed(let label, let id): labels[id] = label
            case .run(let body), .done(let body): labels[body.id] = body.label
            default: continue
            }
        }
        return labels
    }

    private static func object(of label: String) -> String {
        String(label.split(separator: "#")[0])
    }
}

/// A side-file line the crash log does not understand.
struct CrashLogError: Error, CustomStringConvertible {
    let line: String
    var description: String { "unreadable side-file line \"\(line)\"" }
}
