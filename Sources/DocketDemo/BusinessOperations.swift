import Docket
import Foundation

/// The operation definitions of the demo's business day, and how a planned operation
/// becomes a submission (or, once corrected, a retry) of the right definition.
///
/// Bodies are tiny: they validate, compute a little, report progress and log a detail.
/// A few are slow (a short sleep), `syncContact` has a retry policy for transient gateway
/// errors, and `generateReport` renders its result as CSV.
struct BusinessOperations: Sendable {
    let createDeal: OperationDefinition<Payloads.NewDeal, Payloads.DealCreated>
    let updateDealStage: OperationDefinition<Payloads.StageChange, Payloads.StageChanged>
    let sendInvoice: OperationDefinition<Payloads.InvoiceRequest, Payloads.InvoiceSent>
    let recordPayment: OperationDefinition<Payloads.Payment, Payloads.PaymentRecorded>
    let syncContact: OperationDefinition<Payloads.ContactSync, Payloads.ContactSynced>
    let generateReport: OperationDefinition<Payloads.ReportRequest, Payloads.Report>
    private let plan: BusinessPlan

    init(plan: BusinessPlan, audit: OrderAudit) {
        self.plan = plan
        typealias Failure = Payloads.ValidationError

        createDeal = OperationDefinition("createDeal") { deal, context in
            guard deal.amountCents > 0 else {
                throw Failure(description: "Deal amount must be positive; got \(Payloads.money(deal.amountCents)) \(deal.currency).")
            }
            context.reportProgress(50)
            let dealID = "D-\(deal.stamp.line.split(separator: "-").last ?? "0")"
            context.log("created \(dealID) \"\(deal.title)\" worth \(Payloads.money(deal.amountCents)) \(deal.currency)")
            audit.succeeded(deal.stamp)
            return Payloads.DealCreated(dealID: dealID, stage: Payloads.stages[0])
        }

        updateDealStage = OperationDefinition("updateDealStage") { change, context in
            guard let position = Payloads.stages.firstIndex(of: change.stage) else {
                throw Failure(description: "Unknown deal stage \"\(change.stage)\"; expected one of \(Payloads.stages.joined(separator: ", ")).")
            }
            context.log("moved to \(change.stage)")
            audit.succeeded(change.stamp)
            return Payloads.StageChanged(stage: change.stage, winProbability: 10 + position * 20)
        }

        sendInvoice = OperationDefinition("sendInvoice") { invoice, context in
            guard let at = invoice.recipient.firstIndex(of: "@"), invoice.recipient[invoice.recipient.index(after: at)...].contains(".") else {
                throw Failure(description: "Recipient address \"\(invoice.recipient)\" has no valid domain.")
            }
            context.reportProgress(30)
            let tax = (invoice.netCents * 19 + 50) / 100
            if invoice.slow {
                context.log("rendering PDF")
                try await Task.sleep(for: .milliseconds(15))
            }
            context.reportProgress(80)
            context.log("sent \(invoice.number) to \(invoice.recipient)")
            audit.succeeded(invoice.stamp)
            return Payloads.InvoiceSent(number: invoice.number, totalCents: invoice.netCents + tax, taxCents: tax)
        }

        recordPayment = OperationDefinition("recordPayment") { payment, context in
            guard Payloads.currencies.contains(payment.currency) else {
                throw Failure(description: "Unsupported currency \"\(payment.currency)\"; expected one of \(Payloads.currencies.joined(separator: ", ")).")
            }
            let receipt = "R-\(payment.stamp.sequence)-\(payment.amountCents % 9973)"
            context.log("booked \(Payloads.money(payment.amountCents)) \(payment.currency) as \(receipt)")
            audit.succeeded(payment.stamp)
            return Payloads.PaymentRecorded(receipt: receipt)
        }

        syncContact = OperationDefinition(
            "syncContact", retryPolicy: RetryPolicy(maxAttempts: 3, backoff: .fixed(.milliseconds(20)))
        ) { contact, context in
            if contact.flaky && context.attempt == 1 {
                throw Failure(description: "CRM gateway timed out (HTTP 504).")
            }
            guard contact.phone.first == "+", contact.phone.dropFirst().allSatisfy(\.isNumber) else {
                throw Failure(description: "Phone number \"\(contact.phone)\" is not in E.164 form (like +4930123456).")
            }
            context.log("synced \(contact.email) on attempt \(context.attempt)")
            audit.succeeded(contact.stamp)
            return Payloads.ContactSynced(crmID: "C-\(contact.stamp.line.split(separator: "-").last ?? "0")")
        }

        generateReport = OperationDefinition(
            "generateReport", contentType: "text/csv; charset=utf-8",
            render: { report in
                let lines = [report.header] + report.rows
                return Data(lines.map { $0.joined(separator: ",") }.joined(separator: "\n").utf8)
            }
        ) { request, context in
            var rows: [[String]] = []
            for row in 0..<request.rows {
                rows.append([request.tenant, "week-\(row + 1)", String((row * 7_919) % 1_000)])
            }
            context.reportProgress(40)
            try await Task.sleep(for: .milliseconds(request.millisecondsOfWork))
            context.reportProgress(90)
            context.log("\(request.rows) rows for \(request.tenant)")
            return Payloads.Report(header: ["tenant", "week", "deals"], rows: rows)
        }
    }

    /// A registry holding every definition.
    func registry() throws -> OperationRegistry {
        var registry = OperationRegistry()
        try registry.register(createDeal)
        try registry.register(updateDealStage)
        try registry.register(sendInvoice)
        try registry.register(recordPayment)
        try registry.register(syncContact)
        try registry.register(generateReport)
        return registry
    }

    // MARK: Submitting and correcting

    /// Submits the planned operation with its (possibly faulty) input.
    func submit(_ operation: BusinessPlan.PlannedOperation, to docket: Docket) async throws -> OperationID {
        let options = SubmitOptions(objectKey: plan.objectKey(of: operation), delay: operation.delay, owner: plan.owner(of: operation))
        switch operation.kind {
        case .createDeal: return try await docket.submit(createDeal, input: newDeal(operation), options: options).id
        case .updateDealStage: return try await docket.submit(updateDealStage, input: stageChange(operation), options: options).id
        case .sendInvoice: return try await docket.submit(sendInvoice, input: invoice(operation), options: options).id
        case .recordPayment: return try await docket.submit(recordPayment, input: payment(operation), options: options).id
        case .syncContact: return try await docket.submit(syncContact, input: contact(operation), options: options).id
        case .generateReport: return try await docket.submit(generateReport, input: report(operation), options: options).id
        }
    }

    /// Retries the failed operation with its input corrected.
    func retryCorrected(_ operation: BusinessPlan.PlannedOperation, id: OperationID, on docket: Docket) async throws {
        let owner = plan.owner(of: operation)
        switch operation.kind {
        case .createDeal: try await docket.retry(id, owner: owner, correctedInput: newDeal(operation, corrected: true))
        case .updateDealStage: try await docket.retry(id, owner: owner, correctedInput: stageChange(operation, corrected: true))
        case .sendInvoice: try await docket.retry(id, owner: owner, correctedInput: invoice(operation, corrected: true))
        case .recordPayment: try await docket.retry(id, owner: owner, correctedInput: payment(operation, corrected: true))
        case .syncContact: try await docket.retry(id, owner: owner, correctedInput: contact(operation, corrected: true))
        case .generateReport: try await docket.retry(id, owner: owner, correctedInput: report(operation))
        }
    }

    // MARK: Inputs

    private func stamp(_ operation: BusinessPlan.PlannedOperation) -> Payloads.Stamp {
        Payloads.Stamp(line: "\(plan.owner(of: operation))/\(plan.objectKey(of: operation) ?? "-")", sequence: operation.sequence)
    }

    private func bad(_ operation: BusinessPlan.PlannedOperation, _ corrected: Bool) -> Bool {
        operation.faulty && !corrected
    }

    private func newDeal(_ operation: BusinessPlan.PlannedOperation, corrected: Bool = false) -> Payloads.NewDeal {
        let amount = 50_000 + Int(operation.entropy % 5_000_000)
        return Payloads.NewDeal(
            stamp: stamp(operation), title: "Deal \(plan.objectKey(of: operation) ?? "") for \(plan.owner(of: operation))",
            amountCents: bad(operation, corrected) ? -amount : amount,
            currency: Payloads.currencies[Int(operation.entropy >> 32) % Payloads.currencies.count])
    }

    private func stageChange(_ operation: BusinessPlan.PlannedOperation, corrected: Bool = false) -> Payloads.StageChange {
        let stage = Payloads.stages[1 + Int(operation.entropy % UInt64(Payloads.stages.count - 1))]
        return Payloads.StageChange(stamp: stamp(operation), stage: bad(operation, corrected) ? String(stage.dropLast()) : stage)
    }

    private func invoice(_ operation: BusinessPlan.PlannedOperation, corrected: Bool = false) -> Payloads.InvoiceRequest {
        let key = plan.objectKey(of: operation) ?? "invoice"
        return Payloads.InvoiceRequest(
            stamp: stamp(operation), number: "INV-\(key.split(separator: "-").last ?? "0")-\(operation.sequence)",
            recipient: bad(operation, corrected) ? "billing@" : "billing@\(plan.owner(of: operation)).example",
            netCents: 10_000 + Int(operation.entropy % 2_000_000), slow: operation.slow)
    }

    private func payment(_ operation: BusinessPlan.PlannedOperation, corrected: Bool = false) -> Payloads.Payment {
        let currency = Payloads.currencies[Int(operation.entropy >> 40) % Payloads.currencies.count]
        return Payloads.Payment(
            stamp: stamp(operation), amountCents: 1_000 + Int(operation.entropy % 1_000_000),
            currency: bad(operation, corrected) ? String(currency.dropLast()) + "X" : currency)
    }

    private func contact(_ operation: BusinessPlan.PlannedOperation, corrected: Bool = false) -> Payloads.ContactSync {
        let number = String(4_930_000_000 + operation.entropy % 10_000_000)
        return Payloads.ContactSync(
            stamp: stamp(operation), email: "\(plan.objectKey(of: operation) ?? "someone")@\(plan.owner(of: operation)).example",
            phone: bad(operation, corrected) ? "0\(number.dropFirst(2)) ext. 7" : "+\(number)", flaky: operation.flaky)
    }

    private func report(_ operation: BusinessPlan.PlannedOperation) -> Payloads.ReportRequest {
        Payloads.ReportRequest(
            tenant: plan.owner(of: operation), rows: 12 + Int(operation.entropy % 40),
            millisecondsOfWork: 5 + Int(operation.entropy % 16))
    }
}
