import Docket
import Foundation

/// A deal to create on a business object.
public struct NewDeal: Codable, Sendable {
    public var title: String
    public var amount: Double
}

/// The created deal, with the identifiers Kekker's document shows.
public struct DealCreated: Codable, Sendable {
    public var DealId: String
    public var LocalDealId: Int
}

/// A report to build, with its size and how long each row takes.
public struct ReportRequest: Codable, Sendable {
    public var rows: Int
    public var millisecondsPerRow: Int
}

/// A finished report: rendered as CSV.
public struct Report: Codable, Sendable {
    public var header: [String]
    public var rows: [[String]]
}

/// The caller's profile (bear2b's `/v2.5/users/me`).
public struct UserProfile: Codable, Sendable {
    public var user: String
    public var plan: String
}

/// A bulk send (Mobizon's background tasks): how many messages.
public struct BulkSend: Codable, Sendable {
    public var recipients: Int
    public var millisecondsPerRecipient: Int
}

/// What a bulk send did.
public struct BulkSent: Codable, Sendable {
    public var sent: Int
}

/// An operation's own refusal of its input: it fails, and its object blocks until a
/// person retries it with corrected input or deletes it.
public struct BadInput: NonRetryableError, CustomStringConvertible {
    public let description: String
}

/// The operations the server registers. Each seed's surface uses the ones whose retention
/// matches its document: Kekker shows a deal's identifiers in every status call, so its deal
/// is kept; bear2b keeps result files for a while; coreBOS and Docket's own surface read once.
public enum BusinessOperations {
    /// Creates a deal; a negative amount or an empty title is bad input.
    public static let createDeal = deal("createDeal", retention: .readOnce)
    /// The same for Kekker's surface: the created identifiers stay readable in every status.
    public static let kekkerCreateDeal = deal("kekker.createDeal", retention: .keep(for: .seconds(3600)))

    /// A slow report that streams progress and details, rendered as CSV.
    public static let salesReport = report("salesReport", retention: .readOnce)
    /// The same for bear2b's surface, whose results stay for a while.
    public static let bear2bSalesReport = report("bear2b.salesReport", retention: .keep(for: .seconds(3600)))

    /// bear2b's quick call.
    public static let userProfile = OperationDefinition<UserProfile, UserProfile>(
        "bear2b.usersMe", retention: .keep(for: .seconds(3600)), idempotent: true
    ) { profile, context in
        context.log("done")
        return profile
    }

    /// Mobizon's background task: sends to each recipient, reporting progress.
    public static let bulkSend = OperationDefinition<BulkSend, BulkSent>("mobizon.bulkSend") { request, context in
        guard (0...100_000).contains(request.recipients), (0...10_000).contains(request.millisecondsPerRecipient),
              request.recipients * request.millisecondsPerRecipient <= 10_000 else {
            throw BadInput(description: "recipients is 0 to 100000 and takes at most 10 seconds in all (recipients × millisecondsPerRecipient ≤ 10000)")
        }
        for index in 0..<request.recipients {
            try context.checkCancellation()
            try await Task.sleep(for: .milliseconds(request.millisecondsPerRecipient))
            context.reportProgress((index + 1) * 100 / max(request.recipients, 1))
        }
        return BulkSent(sent: request.recipients)
    }

    /// Every definition, for the registry.
    static func register(in registry: inout OperationRegistry) throws {
        try registry.register(createDeal)
        try registry.register(kekkerCreateDeal)
        try registry.register(salesReport)
        try registry.register(bear2bSalesReport)
        try registry.register(userProfile)
        try registry.register(bulkSend)
    }

    private static func deal(_ name: String, retention: ResultRetention) -> OperationDefinition<NewDeal, DealCreated> {
        OperationDefinition<NewDeal, DealCreated>(name, retention: retention) { deal, context in
            guard !deal.title.isEmpty else { throw BadInput(description: "a deal needs a title") }
            guard deal.amount >= 0 else { throw BadInput(description: "a deal's amount cannot be negative (\(deal.amount))") }
            guard deal.amount < 1e12 else { throw BadInput(description: "a deal's amount is below a trillion (\(deal.amount))") }
            context.log("creating deal \"\(deal.title)\"")
            let local = Int(deal.amount.rounded()) % 100_000
            return DealCreated(DealId: "UPI-\(context.operationID.description.prefix(12))", LocalDealId: local)
        }
    }

    private static func report(_ name: String, retention: ResultRetention) -> OperationDefinition<ReportRequest, Report> {
        OperationDefinition<ReportRequest, Report>(
            // A report reads and renders; running it again after a crash does no harm.
            name, retention: retention, contentType: "text/csv; charset=utf-8", idempotent: true,
            render: { report in
                let lines = [report.header] + report.rows
                return Data((lines.map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n").utf8)
            }
        ) { request, context in
            guard (0...10_000).contains(request.rows), (0...1_000).contains(request.millisecondsPerRow),
                  request.rows * request.millisecondsPerRow <= 10_000 else {
                throw BadInput(description: "rows is 0 to 10000, millisecondsPerRow 0 to 1000, and a report takes at most 10 seconds (rows × millisecondsPerRow ≤ 10000)")
            }
            var rows: [[String]] = []
            for index in 0..<request.rows {
                try context.checkCancellation()
                if request.millisecondsPerRow > 0 { try await Task.sleep(for: .milliseconds(request.millisecondsPerRow)) }
                rows.append(["region-\(index % 7)", "\(index)", String(format: "%.2f", Double(index) * 12.5)])
                context.reportProgress((index + 1) * 100 / request.rows)
                if (index + 1) % max(request.rows / 4, 1) == 0 { context.log("\(index + 1) of \(request.rows) rows") }
            }
            return Report(header: ["region", "row", "amount"], rows: rows)
        }
    }
}
