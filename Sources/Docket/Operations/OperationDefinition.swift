import Foundation

/// A named operation Docket can run: typed input and output, and how to run it.
///
/// Definitions are registered in an ``OperationRegistry`` and submitted by value or by
/// name. Input and output are `Codable` so a submission can be carried by name and
/// encoded input (an HTTP body, a journal record) and a result can be served in its
/// own format.
///
/// ```swift
/// let createDeal = OperationDefinition<NewDeal, DealCreated>("createDeal") { deal, context in
///     context.log("validating")
///     context.reportProgress(50)
///     return try await crm.create(deal)
/// }
/// ```
public struct OperationDefinition<Input: Codable & Sendable, Output: Codable & Sendable>: Sendable {
    /// The name the operation is registered and submitted by.
    public let name: String
    /// Whether the operation may be deferred. A non-queueable one can only run now.
    public var isQueueable: Bool
    /// How often and when a failed attempt is tried again before the operation fails.
    public var retryPolicy: RetryPolicy?
    /// How long one attempt may run before it is asked to stop and fails with a timeout.
    public var timeout: Duration?
    /// Whether a result is read once (the default) or kept for a duration.
    public var retention: ResultRetention
    /// The content type of the rendered result, such as `application/json` or `text/csv`.
    public var contentType: String
    /// Whether running the operation twice does no harm. After a crash, a durable docket
    /// runs an interrupted idempotent operation again; any other interrupted operation
    /// fails with ``OperationFailure/Kind-swift.enum/interrupted`` and blocks its object.
    public var isIdempotent: Bool
    @usableFromInline let render: (@Sendable (Output) throws -> Data)?
    /// The body with its types erased, as the engine runs it: it casts the input, runs the
    /// body, and wraps the output in a payload of the given content type (the definition's
    /// as registered: ``contentType`` may change after this closure is made).
    ///
    /// Made where the definition is made: the initializer is inlinable, so this closure is
    /// compiled for the definition's own input and output types in the module that declares
    /// it. Made in the engine instead, it was generic code that allocated the input's and
    /// the output's buffers from the task and cast the input through the runtime on every
    /// attempt.
    @usableFromInline let run: nonisolated(nonsending) @Sendable (any Sendable, OperationContext, String) async throws -> OperationPayload

    /// Creates a definition.
    ///
    /// - Parameters:
    ///   - name: The name to register and submit it by; unique within a registry.
    ///   - queueable: Whether the operation may be deferred (coreBOS's queueable flag).
    ///   - retryPolicy: Attempts and backoff before a failure blocks the object.
    ///   - timeout: The longest one attempt may run.
    ///   - retention: Read-once (default) or keep-for-a-duration.
    ///   - contentType: The content type of the rendered result.
    ///   - idempotent: Whether running it twice does no harm (a restart then runs it again).
    ///   - render: Renders the output in its own format; JSON when `nil`.
    ///   - body: The work. It receives the input and a context for progress, details and cancellation.
    ///     It is `nonisolated(nonsending)`: it starts on the executor of its object's line, so
    ///     running an operation costs no executor hop. Await an `@concurrent` function from it
    ///     for long CPU-bound work, so the line's other events are not held up meanwhile.
    @inlinable
    public init(
        _ name: String,
        queueable: Bool = true,
        retryPolicy: RetryPolicy? = nil,
        timeout: Duration? = nil,
        retention: ResultRetention = .readOnce,
        contentType: String = "application/json; charset=utf-8",
        idempotent: Bool = false,
        render: (@Sendable (Output) throws -> Data)? = nil,
        body: nonisolated(nonsending) @escaping @Sendable (Input, OperationContext) async throws -> Output
    ) {
        self.init(
            name: name, queueable: queueable, retryPolicy: retryPolicy, timeout: timeout, retention: retention,
            contentType: contentType, idempotent: idempotent, render: render
        ) { input, context, contentType in
            // Input of exactly the registered type, the common case, is cast directly; any
            // other (a subclass) goes through a function that refuses a mismatch by name.
            let typed = type(of: input) == Input.self ? input as! Input : try Self.converted(input, operation: name)
            let output = try await body(typed, context)
            return OperationPayload(value: output, contentType: contentType, render: render)
        }
    }

    /// Stores the fields, and the erased body the public initializer compiles inline: an
    /// inlinable initializer may not assign a structure's properties itself where the
    /// module is built for library evolution.
    @usableFromInline
    init(
        name: String, queueable: Bool, retryPolicy: RetryPolicy?, timeout: Duration?, retention: ResultRetention,
        contentType: String, idempotent: Bool, render: (@Sendable (Output) throws -> Data)?,
        run: nonisolated(nonsending) @escaping @Sendable (any Sendable, OperationContext, String) async throws -> OperationPayload
    ) {
        self.name = name
        self.isQueueable = queueable
        self.retryPolicy = retryPolicy
        self.timeout = timeout
        self.retention = retention
        self.contentType = contentType
        self.isIdempotent = idempotent
        self.render = render
        self.run = run
    }

    /// `input` as `Input` when it is not of exactly that type (a subclass), or a failure
    /// naming both types.
    @usableFromInline @inline(never)
    static func converted(_ input: any Sendable, operation name: String) throws -> Input {
        guard let typed = input as? Input else {
            throw OperationFailure(.thrown, "Operation \(name) was given input of type \(type(of: input)), not \(Input.self).")
        }
        return typed
    }

    /// What is wrong with the definition's timeout, retry backoff or retention, if anything:
    /// each must be positive (a backoff may be zero) and at most ``Docket/longestDuration``.
    var durationProblem: String? {
        let longest = Docket.longestDuration
        func check(_ name: String, _ value: Duration, zeroAllowed: Bool) -> String? {
            if value < .zero || (value == .zero && !zeroAllowed) {
                return "the \(name) is \(value); it must be \(zeroAllowed ? "zero or more" : "positive")."
            }
            if value > longest { return "the \(name) is \(value); it must be at most \(longest)." }
            return nil
        }
        if let timeout, let problem = check("timeout", timeout, zeroAllowed: false) { return problem }
        if case .keep(let duration) = retention, let problem = check("retention", duration, zeroAllowed: true) { return problem }
        switch retryPolicy?.backoff {
        case .none?, nil:
            return nil
        case .fixed(let duration)?:
            return check("fixed backoff", duration, zeroAllowed: true)
        case .exponential(let initial, let multiplier, let maximum)?:
            if let problem = check("initial backoff", initial, zeroAllowed: true) ?? check("maximum backoff", maximum, zeroAllowed: true) {
                return problem
            }
            guard multiplier.isFinite, multiplier >= 1 else {
                return "the backoff multiplier is \(multiplier); it must be a finite number of at least 1."
            }
            return nil
        }
    }

    func erased(ordinal: Int) -> ErasedDefinition {
        ErasedDefinition(self, ordinal: ordinal)
    }
}

/// A definition with its types erased, as the engine stores and runs it.
final class ErasedDefinition: Sendable {
    let name: String
    /// Its place in the registry's order: tombstones name their operation by it.
    let ordinal: Int
    let isQueueable: Bool
    let retryPolicy: RetryPolicy?
    let timeout: Duration?
    let retention: ResultRetention
    let contentType: String
    let isIdempotent: Bool
    /// Runs the body on input of any type: pass ``contentType`` as the third argument.
    let run: nonisolated(nonsending) @Sendable (any Sendable, OperationContext, String) async throws -> OperationPayload
    let decodeInput: @Sendable (Data) throws -> any Sendable
    let encodeInput: @Sendable (any Sendable) throws -> Data
    /// Encodes a successful output for the journal.
    let encodeOutput: @Sendable (OperationPayload) throws -> Data
    /// Rebuilds a journaled output as the payload the body once returned.
    let decodeOutput: @Sendable (Data) throws -> OperationPayload
    /// Rebuilds the payload around a success's output as a record keeps it: the payload's
    /// value, which is always of the definition's output type.
    let payload: @Sendable (any Sendable) -> OperationPayload
    let inputType: ObjectIdentifier
    let outputType: ObjectIdentifier

    init<Input, Output>(_ definition: OperationDefinition<Input, Output>, ordinal: Int) {
        name = definition.name
        self.ordinal = ordinal
        isQueueable = definition.isQueueable
        isIdempotent = definition.isIdempotent
        retryPolicy = definition.retryPolicy
        timeout = definition.timeout
        retention = definition.retention
        inputType = ObjectIdentifier(Input.self)
        outputType = ObjectIdentifier(Output.self)
        let contentType = definition.contentType
        self.contentType = contentType
        let render = definition.render
        let name = definition.name
        run = definition.run
        // One decoder and one encoder per definition: both are safe from many threads at once.
        let decoder = JSONDecoder()
        let encoder = JSONEncoder()
        decodeInput = { data in try decoder.decode(Input.self, from: data) }
        encodeInput = { input in
            guard let typed = input as? Input else {
                throw OperationFailure(.thrown, "Operation \(name) holds input of type \(type(of: input)), not \(Input.self).")
            }
            return try encoder.encode(typed)
        }
        encodeOutput = { payload in
            guard let typed = payload.value as? Output else {
                throw OperationFailure(.thrown, "Operation \(name) returned output of type \(type(of: payload.value)), not \(Output.self).")
            }
            return try encoder.encode(typed)
        }
        decodeOutput = { data in
            OperationPayload(value: try decoder.decode(Output.self, from: data), contentType: contentType, render: render)
        }
        // The output came from this definition's body or its journaled output, both `Output`.
        payload = { output in OperationPayload(value: output as! Output, contentType: contentType, render: render) }
    }
}
