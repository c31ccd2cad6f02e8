import Docket

/// The simulated business day, drawn up front from the seed: which objects exist, and
/// which operations arrive in which order with which delay, slowness or bad input.
///
/// Because the plan is fixed before anything runs, the outcome it implies is known too:
/// every object with a faulty operation must end blocked at its first faulty operation,
/// with everything after it still queued. The demo checks the scheduler against that.
struct BusinessPlan: Sendable {
    /// The tenants submitting work; every read and correction is scoped to one of them.
    static let tenants = ["acme", "globex", "initech", "umbrella"]

    /// What sort of business object a line belongs to.
    enum ObjectKind: String, Sendable {
        case deal, invoice, contact
    }

    /// One business object: its tenant and key. Its line in the scheduler is (tenant, key).
    struct BusinessObject: Sendable {
        let kind: ObjectKind
        let tenant: Int
        let key: String
    }

    /// The registered operations the day uses.
    enum OperationKind: String, Sendable, CaseIterable {
        case createDeal, updateDealStage, sendInvoice, recordPayment, syncContact, generateReport
    }

    /// One operation of the day.
    struct PlannedOperation: Sendable {
        /// Position in the day's stream.
        let index: Int
        let kind: OperationKind
        let tenant: Int
        /// The object it acts on; `nil` for an independent operation (a report).
        let object: Int?
        /// Its position in its object's line (0 for the first operation on that object).
        let sequence: Int
        let delay: Duration
        /// Submitted with invalid input: it fails and blocks its object until corrected.
        let faulty: Bool
        /// Fails its first attempt with a transient error; its retry policy recovers.
        let flaky: Bool
        /// Its body awaits a short sleep (rendering, a slow remote call).
        let slow: Bool
        /// Random bits the input's values are derived from.
        let entropy: UInt64
    }

    let objects: [BusinessObject]
    let operations: [PlannedOperation]
    /// Objects that must end blocked: those with at least one faulty operation.
    let expectedBlockedObjects: Int
    /// Operations that must stay queued behind the first failure of their object.
    let expectedStuckOperations: Int

    /// Draws the day. The same options always give the same plan.
    init(_ options: DemoOptions) {
        var random = SplitMix64(seed: options.seed)
        var objects: [BusinessObject] = []
        objects.reserveCapacity(options.objects)
        let width = max(5, String(options.objects).count)
        for index in 0..<options.objects {
            let roll = random.nextUnit()
            let kind: ObjectKind = roll < 0.45 ? .deal : roll < 0.80 ? .invoice : .contact
            // acme is the big customer; the others share the rest.
            let tenant = random.chance(0.4) ? 0 : 1 + Int(random.next() % UInt64(Self.tenants.count - 1))
            let number = String(index)
            let key = "\(kind.rawValue)-" + String(repeating: "0", count: max(0, width - number.count)) + number
            objects.append(BusinessObject(kind: kind, tenant: tenant, key: key))
        }

        var sequences = [Int](repeating: 0, count: objects.count)
        var firstFault = [Int?](repeating: nil, count: objects.count)
        var operations: [PlannedOperation] = []
        operations.reserveCapacity(options.operations)
        let hotObjects = max(1, objects.count / 20)
        for index in 0..<options.operations {
            let delay: Duration = random.chance(0.15) ? .milliseconds(1 + Int(random.next() % 200)) : .zero
            if random.chance(0.01) {
                operations.append(PlannedOperation(
                    index: index, kind: .generateReport, tenant: Int(random.next() % UInt64(Self.tenants.count)), object: nil,
                    sequence: 0, delay: delay, faulty: false, flaky: false, slow: true, entropy: random.next()))
                continue
            }
            // A fifth of the traffic goes to a few hot objects (the deals everyone is working on).
            let object = random.chance(0.2) ? Int(random.next() % UInt64(hotObjects)) : Int(random.next() % UInt64(objects.count))
            let sequence = sequences[object]
            sequences[object] += 1
            let kind: OperationKind
            switch objects[object].kind {
            case .deal: kind = sequence == 0 ? .createDeal : random.chance(0.7) ? .updateDealStage : .sendInvoice
            case .invoice: kind = sequence == 0 || random.chance(0.4) ? .sendInvoice : .recordPayment
            case .contact: kind = .syncContact
            }
            let faulty = random.chance(options.failureRate)
            let flaky = kind == .syncContact && !faulty && random.chance(0.05)
            let slow = random.chance(0.003)
            if faulty && firstFault[object] == nil { firstFault[object] = sequence }
            operations.append(PlannedOperation(
                index: index, kind: kind, tenant: objects[object].tenant, object: object, sequence: sequence,
                delay: delay, faulty: faulty, flaky: flaky, slow: slow, entropy: random.next()))
        }
        self.objects = objects
        self.operations = operations
        var blocked = 0
        var stuck = 0
        for object in objects.indices {
            guard let first = firstFault[object] else { continue }
            blocked += 1
            stuck += sequences[object] - first - 1
        }
        expectedBlockedObjects = blocked
        expectedStuckOperations = stuck
    }

    /// The tenant's name (the owner operations are submitted with).
    func owner(of operation: PlannedOperation) -> String {
        Self.tenants[operation.tenant]
    }

    /// The object key the operation is submitted with; `nil` for independent operations.
    func objectKey(of operation: PlannedOperation) -> String? {
        operation.object.map { objects[$0].key }
    }

    /// The day's operations of each tenant, in submission order.
    func operationsByTenant() -> [[PlannedOperation]] {
        var byTenant = [[PlannedOperation]](repeating: [], count: Self.tenants.count)
        for operation in operations { byTenant[operation.tenant].append(operation) }
        return byTenant
    }

    var faultyCount: Int { operations.count(where: \.faulty) }
    var delayedCount: Int { operations.count { $0.delay > .zero } }
    var slowCount: Int { operations.count(where: \.slow) }
    var flakyCount: Int { operations.count(where: \.flaky) }
}
