// libFuzzer entry for the ports parser, compiled together with Sources/KeyportPorts (see run.sh).
// Checks, for any input: no crash or hang; the same outcome whatever the chunking (the first byte picks a
// chunk size); errors point inside the input; parsed records, written as JSON by the server's writer, parse back to themselves.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPorts(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let chunk = size > 0 ? Int(input[0] % 61) + 1 : 1
    let whole = outcome(input, chunkSize: 64 * 1024)
    let split = outcome(input, chunkSize: chunk)
    switch (whole, split) {
    case (.success(let a), .success(let b)):
        precondition(records(a) == records(b), "chunk size \(chunk) changed the records")
        // Every record as the server writes it (`/ports`), keyed by its id, parses back to the same records.
        var out: [UInt8] = Array("{".utf8)
        for position in 0..<a.count {
            if position > 0 { out.append(UInt8(ascii: ",")) }
            PortsJSON.appendString(a.id(at: position), into: &out)
            out.append(UInt8(ascii: ":"))
            PortsJSON.appendStoredRecord(at: position, of: a.tables, into: &out)
        }
        out.append(UInt8(ascii: "}"))
        guard case .success(let again) = outcome(out, chunkSize: 64 * 1024) else {
            preconditionFailure("written JSON does not parse: \(String(decoding: out, as: UTF8.self))")
        }
        precondition(records(again) == records(a), "written JSON parses to other records")
    case (.failure(let a), .failure(let b)):
        precondition(a == b, "chunk size \(chunk) changed the error: \(a) vs \(b)")
        if let offset = a.offset { precondition(offset >= 0 && offset <= size, "offset \(offset) outside the input") }
        precondition(!a.message.isEmpty)
    default:
        preconditionFailure("chunk size \(chunk) changed success into failure or back")
    }
    return 0
}

private enum Outcome {
    case success(PortsSnapshot)
    case failure(PortsLoadError)
}

private func records(_ snapshot: PortsSnapshot) -> [PortRecord] {
    (0..<snapshot.count).map { snapshot.record(at: $0) }
}

private func outcome(_ input: [UInt8], chunkSize: Int) -> Outcome {
    do throws(PortsLoadError) {
        return .success(try PortsParser.parse(input, sourceName: "fuzz", options: PortsParseOptions(chunkSize: chunkSize)))
    } catch {
        return .failure(error)
    }
}
