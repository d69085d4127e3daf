/// The top-level members of one small JSON object held in memory (a request body such as `{"error_rate": 0.5}`),
/// read by the ports parser itself: the same string escapes, UTF-8 checks, number grammar and literals, and the
/// same `PortsLoadError` with the byte offset. Nested objects and arrays are validated and skipped (a bit per
/// level, never a stack frame), scalars are kept.
package enum JSONObjectMembers {
    /// A member's value; nested objects and arrays are kept only as "something else".
    package enum Value: Equatable, Sendable {
        /// The number as written (`-1.5e3`), for the caller to convert to the type it accepts.
        case number(String)
        case bool(Bool)
        case string(String)
        case null
        case nested
    }

    /// The members in document order (a repeated name appears each time); throws for anything but one object
    /// with nothing after it but whitespace.
    package static func read(_ bytes: [UInt8], sourceName: String) throws(PortsLoadError) -> [(name: String, value: Value)] {
        var parser = StreamParser(
            source: ChunksSource([bytes]), sourceName: sourceName, options: PortsParseOptions(chunkSize: max(bytes.count, 1)))
        defer { parser.deallocate() }
        var members: [(name: String, value: Value)] = []
        try parser.parseObjectMembers { members.append(($0, $1)) }
        return members
    }
}
