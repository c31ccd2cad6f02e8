/// The named operations a docket can run.
///
/// Register every definition before creating the ``Docket``; submissions by name, and a
/// journal replayed at start-up, are bound to definitions through this registry.
public struct OperationRegistry: Sendable {
    /// A registered definition, as listed.
    public struct Entry: Hashable, Sendable {
        /// The definition's name.
        public let name: String
        /// Whether it may be deferred.
        public let isQueueable: Bool
    }

    private(set) var definitions: [String: ErasedDefinition] = [:]
    /// The names in registration order: a definition's ordinal indexes it.
    private(set) var names: [String] = []

    /// The most definitions one registry holds (a tombstone names its operation in 16 bits).
    public static let maximumCount = 65_536

    /// Creates an empty registry.
    public init() {}

    /// Registers a definition.
    ///
    /// - Throws: ``DocketError/Code-swift.struct/duplicateOperationName`` when the name is taken,
    ///   ``DocketError/Code-swift.struct/unknownOperation`` when it is empty.
    public mutating func register<Input, Output>(_ definition: OperationDefinition<Input, Output>) throws {
        guard !definition.name.isEmpty else {
            throw DocketError(.unknownOperation, "An operation definition needs a non-empty name.")
        }
        guard definitions[definition.name] == nil else {
            throw DocketError(
                .duplicateOperationName,
                "An operation named \"\(definition.name)\" is already registered. Give each definition its own name.")
        }
        if let problem = definition.durationProblem {
            throw DocketError(.invalidConfiguration, "Operation \"\(definition.name)\": \(problem)")
        }
        guard names.count < Self.maximumCount else {
            throw DocketError(
                .invalidConfiguration,
                "A registry holds at most \(Self.maximumCount) operation definitions. Register fewer, or pass the varying part in the input.")
        }
        definitions[definition.name] = definition.erased(ordinal: names.count)
        names.append(definition.name)
    }

    /// The registered definitions with their queueable flag, sorted by name.
    public var entries: [Entry] {
        definitions.values.map { Entry(name: $0.name, isQueueable: $0.isQueueable) }.sorted { $0.name < $1.name }
    }

    func definition(named name: String) throws -> ErasedDefinition {
        guard let definition = definitions[name] else {
            let known = definitions.keys.sorted().joined(separator: ", ")
            throw DocketError(.unknownOperation, "No operation named \"\(name)\" is registered. Registered: \(known.isEmpty ? "none" : known).")
        }
        return definition
    }
}
