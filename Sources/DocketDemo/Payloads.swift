/// The inputs and outputs of the demo's business operations, and the validation error
/// their bodies throw for bad input.
///
/// Every object operation's input carries a ``Stamp``: its object's line and its position
/// in that line, so bodies can check the scheduler's per-object order as they run.
enum Payloads {
    /// Where an object operation sits: its line ("tenant/key") and its position in it.
    struct Stamp: Codable, Sendable, Hashable {
        let line: String
        let sequence: Int
    }

    /// Bad input: the operation fails and blocks its object until it is retried with
    /// corrected input or deleted.
    struct ValidationError: Error, CustomStringConvertible {
        let description: String
    }

    /// Input of `createDeal`.
    struct NewDeal: Codable, Sendable {
        let stamp: Stamp
        let title: String
        let amountCents: Int
        let currency: String
    }

    /// Output of `createDeal`.
    struct DealCreated: Codable, Sendable {
        let dealID: String
        let stage: String
    }

    /// Input of `updateDealStage`.
    struct StageChange: Codable, Sendable {
        let stamp: Stamp
        let stage: String
    }

    /// Output of `updateDealStage`.
    struct StageChanged: Codable, Sendable {
        let stage: String
        let winProbability: Int
    }

    /// Input of `sendInvoice`.
    struct InvoiceRequest: Codable, Sendable {
        let stamp: Stamp
        let number: String
        let recipient: String
        let netCents: Int
        let slow: Bool
    }

    /// Output of `sendInvoice`.
    struct InvoiceSent: Codable, Sendable {
        let number: String
        let totalCents: Int
        let taxCents: Int
    }

    /// Input of `recordPayment`.
    struct Payment: Codable, Sendable {
        let stamp: Stamp
        let amountCents: Int
        let currency: String
    }

    /// Output of `recordPayment`.
    struct PaymentRecorded: Codable, Sendable {
        let receipt: String
    }

    /// Input of `syncContact`.
    struct ContactSync: Codable, Sendable {
        let stamp: Stamp
        let email: String
        let phone: String
        let flaky: Bool
    }

    /// Output of `syncContact`.
    struct ContactSynced: Codable, Sendable {
        let crmID: String
    }

    /// Input of `generateReport` (an independent operation: no object, no stamp).
    struct ReportRequest: Codable, Sendable {
        let tenant: String
        let rows: Int
        let millisecondsOfWork: Int
    }

    /// Output of `generateReport`, rendered as CSV.
    struct Report: Codable, Sendable {
        let header: [String]
        let rows: [[String]]
    }

    static let stages = ["Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won"]
    static let currencies = ["EUR", "USD", "GBP", "CHF"]

    /// Money as "1,234.56".
    static func money(_ cents: Int) -> String {
        let sign = cents < 0 ? "-" : ""
        let fraction = abs(cents) % 100
        return "\(sign)\(Console.grouped(abs(cents) / 100)).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
