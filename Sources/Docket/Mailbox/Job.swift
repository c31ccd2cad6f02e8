/// What a line entry runs: a registered definition and its input.
struct Job: Sendable {
    // Proof of safety: the engine's registry holds every definition for the engine's life, and
    // jobs live only in that engine's mailboxes and workers.
    unowned(unsafe) let definition: ErasedDefinition
    let input: any Sendable
}
