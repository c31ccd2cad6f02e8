import Docket

/// Workload 7 and the peak-memory run: `operations` submitted in waves of `wave` over
/// `objects` objects, each wave's results taken as it finishes. Returns ns per operation and
/// the peak resident set size in bytes, and the most heap in use seen at the end of a wave's
/// submissions or of its results (what the engine holds, without the allocator's retention).
public func waves(operations: Int, objects: Int, wave: Int) async throws -> (nsPerOperation: Double, peakResident: Int, peakHeap: Int) {
    let log = OrderLog(keys: objects)
    let system = try DocketSystem(keys: objects, log: log)
    let docket = system.docket
    let definition = DocketSystem.definition(log: log)
    let names = (0..<objects).map { "object-\($0)" }
    var ids: [OperationID] = []
    ids.reserveCapacity(wave)
    let start = ContinuousClock.now
    var index = 0
    var peakHeap = 0
    while index < operations {
        ids.removeAll(keepingCapacity: true)
        let end = min(operations, index + wave)
        while index < end {
            let step = DocketSystem.Step(key: index % objects, index: index)
            ids.append(try await docket.submit(definition, input: step, options: SubmitOptions(objectKey: names[step.key])).id)
            index += 1
        }
        peakHeap = max(peakHeap, heapInUse())
        for id in ids {
            guard case .finished(.success) = await docket.outcome(of: id) else { throw WorkloadError("scale: \(id) did not succeed") }
        }
        peakHeap = max(peakHeap, heapInUse())
    }
    let elapsed = ContinuousClock.now - start
    let (ran, violations) = log.verify()
    guard ran == operations, violations == 0 else { throw WorkloadError("scale: ran \(ran), \(violations) order violations") }
    return (elapsed.nanoseconds / Double(operations), peakResidentBytes(), peakHeap)
}
