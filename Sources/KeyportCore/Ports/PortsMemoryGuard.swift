import KeyportPorts

/// Stops a ports load before it takes the process past its memory limit (the cgroup's, as
/// `keyport_memory_limit_bytes` reports it), so a reload that does not fit fails like a bad file instead of
/// getting the whole process OOM-killed. Checked every `PortsParseOptions.progressInterval` bytes parsed.
///
/// Headroom: a load stops once resident memory would come within `headroom(limit:)` of the limit, 10% of
/// the limit and at least 16 MiB. That covers what is allocated between two checks (about 1 MiB of input
/// makes ~0.5 MB of records), connection buffers, and the unmeasured page tables and kernel memory.
struct PortsMemoryGuard {
    let limit: Int
    let residentAtStart: Int
    let resident: () -> Int?

    /// Building the lookup tables after the parse allocates about this much per record (id order, country
    /// groups, the merge of out-of-order ids), so the last check looks that far ahead.
    static let tableBytesPerRecord = 16

    static func headroom(limit: Int) -> Int { max(limit / 10, 16 << 20) }

    /// `nil` when nothing limits the process (no cgroup limit) or its memory cannot be read.
    init?(limit: Int?, resident: @escaping () -> Int?) {
        guard let limit, let now = resident() else { return nil }
        self.limit = limit
        self.residentAtStart = now
        self.resident = resident
    }

    /// Throws a `.memory` error naming the limit, the memory in use and what this load has needed so far.
    func check(_ progress: PortsLoadProgress, source: String) throws(PortsLoadError) {
        guard let now = resident() else { return }
        let ahead = progress.parsed ? progress.recordsParsed * Self.tableBytesPerRecord : 0
        let headroom = Self.headroom(limit: limit)
        guard now + ahead + headroom > limit else { return }
        throw PortsLoadError(
            kind: .memory, source: source, offset: progress.bytesParsed,
            message: "stopped after \(progress.recordsParsed) records: the load would pass the memory limit of "
                + "\(Self.mebibytes(limit)) (in use \(Self.mebibytes(now)), needed by this load so far "
                + "\(Self.mebibytes(max(0, now - residentAtStart) + ahead)), headroom kept \(Self.mebibytes(headroom))); "
                + "raise the memory limit or shrink the file")
    }

    static func mebibytes(_ bytes: Int) -> String {
        let tenths = (bytes * 10 + (1 << 19)) >> 20
        return "\(tenths / 10).\(tenths % 10) MiB"
    }
}
