/// What happens to operations queued behind a failed operation that is deleted.
public enum FollowerPolicy: String, Hashable, Sendable, Codable {
    /// Keep them: the object resumes with the next one.
    case keep
    /// Delete them with the failed operation, in the same step (reason ``CancellationReason/cascade``).
    case cascade
}
