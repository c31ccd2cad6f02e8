@testable import Docket
import Testing

/// Unit tests of the supervisor's decisions: dependents and removal.
@Suite("Supervisor state machine")
struct SupervisorStateMachineTests {
    typealias Machine = SupervisorStateMachine
    typealias Dependent = SupervisorStateMachine.Dependent

    static func id(_ n: UInt64) -> OperationID { OperationID(high: 0x5_0BE7, low: n) }

    let deal = ObjectKey.keyed(owner: "acme", key: "deal-42")
    let otherTenantDeal = ObjectKey.keyed(owner: "globex", key: "deal-42")
    let invoice = ObjectKey.keyed(owner: "acme", key: "invoice-7")
    let ownerless = ObjectKey.keyed(owner: nil, key: "deal-42")

    let x = Self.id(1)
    let y = Self.id(2)
    let z = Self.id(3)
    let d1 = Self.id(11)
    let d2 = Self.id(12)
    let d3 = Self.id(13)
    let d4 = Self.id(14)

    @Test("A fresh machine has no dependents")
    func fresh() {
        var machine = Machine()
        #expect(machine.dependencySucceeded(x) == [])
        #expect(machine.operationsRemoved([x, y]).isEmpty)
    }

    @Test("dependencySucceeded returns each waiting object once, in registration order, then forgets them")
    func dependencySucceededDedups() {
        var machine = Machine()
        machine.register(d1, on: deal, dependencies: [x])
        machine.register(d2, on: invoice, dependencies: [x])
        machine.register(d3, on: deal, dependencies: [x])
        machine.register(d4, on: otherTenantDeal, dependencies: [x])
        #expect(machine.dependencySucceeded(x) == [deal, invoice, otherTenantDeal])
        #expect(machine.dependencySucceeded(x) == [])
        // Removing x now cascades to nobody: its entries are gone.
        #expect(machine.operationsRemoved([x]).isEmpty)
    }

    @Test("Unregistering a refused dependent forgets it on each of its dependencies, and only it")
    func unregister() {
        var machine = Machine()
        machine.register(d1, on: deal, dependencies: [x, y])
        machine.register(d2, on: invoice, dependencies: [x])
        machine.unregister(d1, dependencies: [x, y])
        #expect(machine.operationsRemoved([y]).isEmpty)
        #expect(machine.operationsRemoved([x]) == [Dependent(id: d2, key: invoice)])
    }

    @Test("A dependency listed twice yields its object once")
    func duplicateDependency() {
        var machine = Machine()
        machine.register(d1, on: deal, dependencies: [x, x])
        #expect(machine.dependencySucceeded(x) == [deal])
        #expect(machine.dependencySucceeded(x) == [])
    }

    @Test("Succeeding one dependency leaves the dependent registered on the others")
    func partialSuccess() {
        var machine = Machine()
        machine.register(d1, on: deal, dependencies: [x, y])
        #expect(machine.dependencySucceeded(x) == [deal])
        #expect(machine.dependencySucceeded(z) == [])
        #expect(machine.operationsRemoved([y]) == [Dependent(id: d1, key: deal)])
        #expect(machine.dependencySucceeded(y) == [])
    }

    @Test("operationsRemoved returns the direct dependents in order and forgets them")
    func operationsRemovedReturnsDependents() {
        var machine = Machine()
        machine.register(d1, on: deal, dependencies: [x])
        machine.register(d2, on: invoice, dependencies: [y])
        machine.register(d3, on: deal, dependencies: [x])
        machine.register(d4, on: invoice, dependencies: [z])

        let victims = machine.operationsRemoved([x, y])
        #expect(victims == [Dependent(id: d1, key: deal), Dependent(id: d3, key: deal), Dependent(id: d2, key: invoice)])
        #expect(machine.operationsRemoved([x, y]).isEmpty)
        #expect(machine.dependencySucceeded(x) == [])
        // z's dependent is untouched.
        #expect(machine.dependencySucceeded(z) == [invoice])
    }

    @Test("A dependent of several removed operations is reported for each of them")
    func dependentOfSeveralRemoved() {
        var machine = Machine()
        machine.register(d1, on: deal, dependencies: [x, y])
        let victims = machine.operationsRemoved([x, y])
        #expect(Set(victims) == [Dependent(id: d1, key: deal)])
        #expect(!victims.isEmpty)
    }

    @Test("Cascading removal: feeding the victims back removes the chain one level at a time")
    func cascadingChain() {
        // d1 depends on x, d2 on d1, d3 on d2; d4 on x too.
        var machine = Machine()
        machine.register(d1, on: deal, dependencies: [x])
        machine.register(d2, on: invoice, dependencies: [d1])
        machine.register(d3, on: otherTenantDeal, dependencies: [d2])
        machine.register(d4, on: ownerless, dependencies: [x])

        var removed: [OperationID] = []
        var frontier = [x]
        var rounds: [[Dependent]] = []
        while !frontier.isEmpty {
            let victims = machine.operationsRemoved(frontier)
            if !victims.isEmpty { rounds.append(victims) }
            removed += victims.map(\.id)
            frontier = victims.map(\.id)
        }
        #expect(rounds == [
            [Dependent(id: d1, key: deal), Dependent(id: d4, key: ownerless)],
            [Dependent(id: d2, key: invoice)],
            [Dependent(id: d3, key: otherTenantDeal)],
        ])
        #expect(removed == [d1, d4, d2, d3])
        #expect(machine.dependencySucceeded(d1) == [])
        #expect(machine.dependencySucceeded(d2) == [])
    }

    @Test("Succeeding and removing are independent per dependency")
    func mixedSuccessAndRemoval() {
        var machine = Machine()
        machine.register(d1, on: deal, dependencies: [x])
        machine.register(d2, on: invoice, dependencies: [y])
        #expect(machine.operationsRemoved([y]) == [Dependent(id: d2, key: invoice)])
        #expect(machine.dependencySucceeded(x) == [deal])
        #expect(machine.dependencySucceeded(y) == [])
    }
}
