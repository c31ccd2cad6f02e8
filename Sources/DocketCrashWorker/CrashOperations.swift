import Docket

/// The input of a planned operation: its label.
struct CrashInput: Codable, Sendable {
    let label: String
}

/// The worker's two definitions. Each body writes `run <label> <kind> <attempt> <id>` to the
/// side file as it starts, yields once, writes `done …` and returns `done <label>`.
struct CrashOperations: Sendable {
    /// Not idempotent: a restart that finds it running fails it as interrupted.
    let step: OperationDefinition<CrashInput, String>
    /// Idempotent: a restart that finds it running runs it again.
    let touch: OperationDefinition<CrashInput, String>

    init(side: SideFile) {
        step = OperationDefinition("step") { input, context in
            await Self.body(input, kind: .step, context: context, side: side)
        }
        touch = OperationDefinition("touch", idempotent: true) { input, context in
            await Self.body(input, kind: .touch, context: context, side: side)
        }
    }

    /// A registry holding both definitions.
    func registry() throws -> OperationRegistry {
        var registry = OperationRegistry()
        try registry.register(step)
        try registry.register(touch)
        return registry
    }

    /// The definition a planned operation is submitted with.
    func definition(for kind: CrashPlan.Kind) -> OperationDefinition<CrashInput, String> {
        switch kind {
        case .step: step
        case .touch: touch
        }
    }

    /// The output a body returns for `label`.
    static func output(of label: String) -> String { "done \(label)" }

    private static func body(_ input: CrashInput, kind: CrashPlan.Kind, context: OperationContext, side: SideFile) async -> String {
        let suffix = "\(input.label) \(kind.rawValue) \(context.attempt) \(context.operationID)"
        side.append("run \(suffix)")
        await Task.yield()
        side.append("done \(suffix)")
        return output(of: input.label)
    }
}
