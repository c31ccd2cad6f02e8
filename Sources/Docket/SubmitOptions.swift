/// How one operation is submitted.
public struct SubmitOptions: Sendable {
    /// The business object the operation acts on. Operations on the same (owner, key) run one
    /// at a time in submission order; `nil` makes the operation independent.
    public var objectKey: String?
    /// How long after submission the operation becomes due (coreBOS's queuedelay).
    public var delay: Duration
    /// Who submitted it. Every read, delete, retry and cancel is scoped to this owner.
    public var owner: String?
    /// A repeat submission by the same owner with the same key, within the docket's
    /// idempotency window, returns the first operation instead of creating another. The key
    /// belongs to that operation's definition: submitting another definition with it is
    /// refused with ``DocketError/Code-swift.struct/invalidInput``.
    public var idempotencyKey: String?
    /// Operations that must succeed before this one may start.
    public var dependencies: [OperationID]

    /// Creates options; by default the operation is independent, ownerless and due at once.
    public init(
        objectKey: String? = nil,
        delay: Duration = .zero,
        owner: String? = nil,
        idempotencyKey: String? = nil,
        dependencies: [OperationID] = []
    ) {
        self.objectKey = objectKey
        self.delay = delay
        self.owner = owner
        self.idempotencyKey = idempotencyKey
        self.dependencies = dependencies
    }
}
