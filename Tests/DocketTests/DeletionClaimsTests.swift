@testable import Docket
import Testing

/// Unit tests of which deletions may go ahead: one at a time per object, in the order they asked.
@Suite("Deletion claims")
struct DeletionClaimsTests {
    let deal = ObjectKey.keyed(owner: nil, key: "deal-42")
    let invoice = ObjectKey.keyed(owner: nil, key: "invoice-7")
    let user = ObjectKey.keyed(owner: nil, key: "user-3")

    @Test("Deletions of different objects go ahead together; one of a held object waits")
    func disjointGoAhead() {
        var claims = DeletionClaims()
        #expect(claims.request([deal]) == .granted)
        #expect(claims.request([invoice]) == .granted)
        #expect(claims.request([deal, user]) == .wait(ticket: 0))
        #expect(claims.waitingCount == 1)
        #expect(claims.release([invoice]) == [])
        #expect(claims.release([deal]) == [0])
        #expect(claims.waitingCount == 0)
    }

    @Test("A waiting deletion over several objects keeps them from later deletions, so it is not overtaken")
    func noOvertaking() {
        var claims = DeletionClaims()
        #expect(claims.request([deal]) == .granted)
        // Waits for the deal; the invoice is free, but the deletion does not take it yet.
        #expect(claims.request([deal, invoice]) == .wait(ticket: 0))
        // A later deletion of the invoice alone waits behind it instead of taking the invoice.
        #expect(claims.request([invoice]) == .wait(ticket: 1))
        // A deletion of an object no waiting deletion wants goes ahead.
        #expect(claims.request([user]) == .granted)
        // Once the deal is free the first waiting deletion holds both; the later one still waits.
        #expect(claims.release([deal]) == [0])
        #expect(claims.request([deal]) == .wait(ticket: 2))
        #expect(claims.release([deal, invoice]) == [1, 2])
        #expect(claims.release([invoice]) == [])
        #expect(claims.release([deal]) == [])
        #expect(claims.request([deal, invoice, user]) == .wait(ticket: 3))
        #expect(claims.release([user]) == [3])
    }

    @Test("One release grants every waiting deletion whose objects are free, in the order they asked")
    func releaseGrantsInOrder() {
        var claims = DeletionClaims()
        #expect(claims.request([deal, invoice]) == .granted)
        #expect(claims.request([deal]) == .wait(ticket: 0))
        #expect(claims.request([invoice]) == .wait(ticket: 1))
        #expect(claims.request([deal, invoice]) == .wait(ticket: 2))
        #expect(claims.release([deal, invoice]) == [0, 1])
        #expect(claims.waitingCount == 1)
        #expect(claims.release([deal]) == [])
        #expect(claims.release([invoice]) == [2])
    }
}
