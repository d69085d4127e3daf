import KeyportPorts

/// The top-level members of a small JSON object body (`{"error_rate": 0.5}`), read by the ports parser
/// (`JSONObjectMembers`), so a body and a ports file follow one JSON grammar and report errors alike. Not
/// Foundation's JSONDecoder: that alone would link Foundation and ICU into the binary.
struct DebugJSONBody {
    typealias Value = JSONObjectMembers.Value

    /// The last value of each name (a repeated member overrides, as in the ports file).
    private(set) var members: [String: Value] = [:]

    init(_ bytes: some Collection<UInt8>) throws(PortsLoadError) {
        for (name, value) in try JSONObjectMembers.read(Array(bytes), sourceName: "request body") {
            members[name] = value
        }
    }

    func double(_ name: String) -> Double? {
        guard case .number(let text)? = members[name] else { return nil }
        return Double(text)
    }

    /// Integers only: `1.5`, `1e3` and values beyond `Int` are refused.
    func integer(_ name: String) -> Int? {
        guard case .number(let text)? = members[name] else { return nil }
        return Int(text)
    }

    func bool(_ name: String) -> Bool? {
        guard case .bool(let value)? = members[name] else { return nil }
        return value
    }
}
