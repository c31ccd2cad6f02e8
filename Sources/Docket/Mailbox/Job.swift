/// What a line entry runs: a registered definition and its input.
struct Job: Sendable {
    let definition: ErasedDefinition
    let input: any Sendable
}
