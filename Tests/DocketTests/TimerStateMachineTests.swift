@testable import Docket
import Testing

/// Unit tests of the timer's decisions: one heap of due times and a single armed sleep.
@Suite("Timer state machine")
struct TimerStateMachineTests {
    typealias Machine = TimerStateMachine<String>

    func s(_ n: Int) -> Duration { .seconds(n) }

    /// Schedules each "name@seconds" label at its due time.
    func schedule(_ labels: String..., on machine: inout Machine) {
        for label in labels { _ = machine.schedule(label, at: s(Int(label.split(separator: "@")[1])!)) }
    }

    @Test("An empty timer has nothing armed and fires nothing")
    func empty() {
        var machine = Machine()
        #expect(machine.count == 0)
        #expect(machine.earliest == nil)
        #expect(machine.armed == nil)
        let (due, rearm) = machine.fire(now: s(100))
        #expect(due.isEmpty)
        #expect(rearm == nil)
        #expect(machine.armed == nil)
    }

    @Test("The first schedule arms the sleep for its due time")
    func firstScheduleArms() {
        var machine = Machine()
        #expect(machine.schedule("a", at: s(10)) == s(10))
        #expect(machine.armed == s(10))
        #expect(machine.earliest == s(10))
        #expect(machine.count == 1)
    }

    @Test("Re-arm only when a new due time is earlier than the armed one")
    func rearmOnlyWhenEarlier() {
        var machine = Machine()
        #expect(machine.schedule("a", at: s(10)) == s(10))
        #expect(machine.schedule("later", at: s(20)) == nil)
        #expect(machine.armed == s(10))
        #expect(machine.schedule("tie", at: s(10)) == nil)
        #expect(machine.armed == s(10))
        #expect(machine.schedule("earlier", at: s(4)) == s(4))
        #expect(machine.armed == s(4))
        #expect(machine.earliest == s(4))
        #expect(machine.schedule("between", at: s(7)) == nil)
        #expect(machine.armed == s(4))
        #expect(machine.count == 5)
    }

    @Test("Fire returns what is due in due order, ties in scheduling order, and re-arms for the next")
    func fireOrder() {
        var machine = Machine()
        schedule("a@10", "b@5", "c@10", "d@5", "e@20", "f@10", "g@5", on: &machine)

        let (due, rearm) = machine.fire(now: s(10))
        #expect(due.map(\.target) == ["b@5", "d@5", "g@5", "a@10", "c@10", "f@10"])
        #expect(due.map(\.due) == [s(5), s(5), s(5), s(10), s(10), s(10)])
        #expect(rearm == s(20))
        #expect(machine.armed == s(20))
        #expect(machine.count == 1)
        #expect(machine.earliest == s(20))
    }

    @Test("Fire before anything is due returns nothing and keeps the earliest armed")
    func fireEarly() {
        var machine = Machine()
        _ = machine.schedule("a", at: s(10))
        _ = machine.schedule("b", at: s(15))
        let (due, rearm) = machine.fire(now: s(9))
        #expect(due.isEmpty)
        #expect(rearm == s(10))
        #expect(machine.armed == s(10))
        #expect(machine.count == 2)
    }

    @Test("Firing everything disarms; the next schedule arms again")
    func fireAllDisarms() {
        var machine = Machine()
        _ = machine.schedule("a", at: s(1))
        _ = machine.schedule("b", at: s(2))
        let (due, rearm) = machine.fire(now: s(2))
        #expect(due.map(\.target) == ["a", "b"])
        #expect(rearm == nil)
        #expect(machine.armed == nil)
        #expect(machine.earliest == nil)
        #expect(machine.count == 0)
        // Armed is empty now, so even a due time in the past arms the sleep.
        #expect(machine.schedule("c", at: s(1)) == s(1))
        #expect(machine.armed == s(1))
    }

    @Test("After a fire, scheduling compares against the newly armed time")
    func scheduleAfterFire() {
        var machine = Machine()
        _ = machine.schedule("a", at: s(5))
        _ = machine.schedule("b", at: s(30))
        _ = machine.fire(now: s(5))
        #expect(machine.armed == s(30))
        #expect(machine.schedule("c", at: s(40)) == nil)
        #expect(machine.schedule("d", at: s(20)) == s(20))
        #expect(machine.armed == s(20))
        let (due, rearm) = machine.fire(now: s(35))
        #expect(due.map(\.target) == ["d", "b"])
        #expect(rearm == s(40))
    }

    @Test("Ties keep scheduling order across fires")
    func tiesAcrossFires() {
        var machine = Machine()
        _ = machine.schedule("first", at: s(5))
        _ = machine.fire(now: s(5))
        _ = machine.schedule("y", at: s(7))
        _ = machine.schedule("z", at: s(7))
        _ = machine.schedule("w", at: s(6))
        _ = machine.schedule("v", at: s(7))
        let (due, rearm) = machine.fire(now: s(7))
        #expect(due.map(\.target) == ["w", "y", "z", "v"])
        #expect(rearm == nil)
    }

    @Test("Randomized: fires equal a stable sort by due time, armed is always the earliest, and a schedule re-arms exactly when the earliest moves", arguments: [1, 42, 2024])
    func randomizedAgainstStableSort(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        var machine = Machine()
        var pending: [(due: Int, order: Int, target: String)] = []
        var fired: [String] = []
        var expected: [String] = []
        var order = 0
        var now = 0
        for _ in 0..<1_000 {
            if Int.random(in: 0..<4, using: &generator) < 3 {
                let due = now + Int.random(in: 0..<50, using: &generator)
                let target = "t\(order)"
                let armedBefore = machine.armed
                let earliestBefore = machine.earliest
                let answer = machine.schedule(target, at: .milliseconds(due))
                let shouldArm = armedBefore.map { .milliseconds(due) < $0 } ?? true
                #expect(answer == (shouldArm ? .milliseconds(due) : nil))
                // The timer publishes the earliest due time only when asked to re-arm: the
                // two must move together.
                #expect((answer != nil) == (machine.earliest != earliestBefore))
                #expect(machine.armed == machine.earliest)
                pending.append((due, order, target))
                order += 1
            } else {
                now += Int.random(in: 0..<20, using: &generator)
                let (due, rearm) = machine.fire(now: .milliseconds(now))
                fired += due.map(\.target)
                let ready = pending.filter { $0.due <= now }.sorted { ($0.due, $0.order) < ($1.due, $1.order) }
                expected += ready.map(\.target)
                pending.removeAll { $0.due <= now }
                let earliest = pending.map(\.due).min().map { Duration.milliseconds($0) }
                #expect(rearm == earliest)
                #expect(machine.armed == earliest)
            }
            #expect(machine.count == pending.count)
        }
        let (rest, rearm) = machine.fire(now: .seconds(1_000_000))
        fired += rest.map(\.target)
        expected += pending.sorted { ($0.due, $0.order) < ($1.due, $1.order) }.map(\.target)
        #expect(rearm == nil)
        #expect(fired == expected)
        #expect(fired.count == order)
    }

    @Test("Targets whose slots are reused still fire in due order, ties in scheduling order")
    func reusedSlotsKeepOrder() {
        var machine = Machine()
        schedule("a@5", "b@5", "c@9", on: &machine)
        #expect(machine.fire(now: s(5)).due.map(\.target) == ["a@5", "b@5"])
        // a's and b's slots are free again: these take them, in the other order.
        schedule("d@9", "e@7", "f@9", on: &machine)
        #expect(machine.count == 4)
        let (due, rearm) = machine.fire(now: s(9))
        #expect(due.map(\.target) == ["e@7", "c@9", "d@9", "f@9"])
        #expect(due.map(\.due) == [s(7), s(9), s(9), s(9)])
        #expect(rearm == nil)
        #expect(machine.count == 0)
        // Emptied, it gives its slots back and starts over.
        #expect(machine.slotCount == 0)
        schedule("g@12", on: &machine)
        #expect(machine.slotCount == 1)
        #expect(machine.fire(now: s(12)).due.map(\.target) == ["g@12"])
    }

    @Test("A burst's slots are given back once few entries are left, and those still fire in order")
    func burstSlotsCompacted() {
        var machine = Machine()
        // A burst of 4 000 wakes, and four long-lived entries scheduled among them.
        for index in 0..<4_000 {
            _ = machine.schedule("burst\(index)", at: s(1 + index % 50))
            if index % 1_000 == 999 { _ = machine.schedule("late\(index / 1_000)", at: s(100)) }
        }
        #expect(machine.slotCount == 4_004)
        #expect(machine.fire(now: s(50)).due.count == 4_000)
        #expect(machine.count == 4)
        #expect(machine.slotCount == 4)
        // Freed slots are reused, never doubled.
        _ = machine.schedule("more", at: s(60))
        #expect(machine.slotCount == 5)
        let (due, _) = machine.fire(now: s(100))
        #expect(due.map(\.target) == ["more", "late0", "late1", "late2", "late3"])
        #expect(machine.slotCount == 0)
    }
}
