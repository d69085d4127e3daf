import Testing

@testable import KeyportPorts

/// Random but reproducible documents: every valid one parses to exactly the records it was generated from,
/// and every mutation of one either parses or fails cleanly, the same way whatever the chunking.
struct PropertyTests {
    @Test(arguments: 0..<8)
    func randomValidDocumentsRoundTrip(seed: Int) throws {
        var random = SeededGenerator(seed: UInt64(seed) &* 7919 &+ 1)
        for _ in 0..<25 {
            let (text, expected) = DocumentGenerator.document(records: Int.random(in: 0...30, using: &random), using: &random)
            let chunk = Int.random(in: 1...300, using: &random)
            let snapshot = try parse(text, chunk: chunk)
            #expect(allRecords(snapshot) == expected, "seed \(seed), chunk \(chunk):\n\(String(decoding: text, as: UTF8.self))")

            // Written out as JSON and read back (the "id" member is an unknown field to the parser): the same records.
            var out: [UInt8] = Array("{".utf8)
            for (i, record) in allRecords(snapshot).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                PortsJSON.appendString(record.id, into: &out)
                out.append(UInt8(ascii: ":"))
                PortsJSON.appendRecord(record, into: &out)
            }
            out.append(UInt8(ascii: "}"))
            #expect(try allRecords(parse(out, chunk: chunk)) == expected)
            var page: [UInt8] = []
            PortsJSON.appendPage(snapshot.page(after: nil, limit: 1000, country: nil), into: &page)
            var expectedPage = Array("{\"ports\":[".utf8)
            for (i, record) in expected.enumerated() {
                if i > 0 { expectedPage.append(UInt8(ascii: ",")) }
                PortsJSON.appendRecord(record, into: &expectedPage)
            }
            expectedPage += Array("],\"next\":null}".utf8)
            #expect(page == expectedPage)
        }
    }

    @Test(arguments: 0..<8)
    func randomMutationsFailCleanly(seed: Int) {
        var random = SeededGenerator(seed: UInt64(seed) &+ 1000)
        var failures = 0
        for _ in 0..<150 {
            var (input, _) = DocumentGenerator.document(records: Int.random(in: 1...6, using: &random), using: &random)
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                DocumentGenerator.mutate(&input, using: &random)
            }
            let chunkA = Int.random(in: 1...64, using: &random)
            let first = outcome(input, chunk: chunkA)
            let second = outcome(input, chunk: 65536)
            #expect(first == second, "chunking changed the outcome for \(input)")
            if case .failure(let error) = first {
                failures += 1
                #expect(error.offset.map { $0 >= 0 && $0 <= input.count } == true, "\(error)")
                #expect(!error.message.isEmpty)
            }
        }
        #expect(failures > 50, "mutations should mostly break documents")
    }

    /// Raw random bytes, and random bytes after a valid prefix: never a crash or a hang.
    @Test func randomBytesNeverCrash() {
        var random = SeededGenerator(seed: 99)
        let prefixes = [bytes(""), bytes("{"), bytes("{\"A\": {"), bytes("{\"A\": {\"name\": \""), bytes("{\"A\": {\"x\": [")]
        for i in 0..<2000 {
            let tail = (0..<Int.random(in: 0...40, using: &random)).map { _ in
                Bool.random(using: &random) ? UInt8.random(in: 0...255, using: &random) : Array("{}[]\",:\\ 0-1.eEtrunfals".utf8).randomElement(using: &random)!
            }
            let input = prefixes[i % prefixes.count] + tail
            if let error = parseError(input, chunk: Int.random(in: 1...16, using: &random)) {
                #expect((error.offset ?? 0) <= input.count)
            }
        }
    }

    private enum Outcome: Equatable {
        case success([PortRecord])
        case failure(PortsLoadError)
    }

    private func outcome(_ input: [UInt8], chunk: Int) -> Outcome {
        do throws(PortsLoadError) {
            return .success(allRecords(try parse(input, chunk: chunk)))
        } catch {
            return .failure(error)
        }
    }
}

/// Builds random ports documents together with the records they must give.
enum DocumentGenerator {
    static func document<R: RandomNumberGenerator>(records: Int, using random: inout R) -> ([UInt8], [PortRecord]) {
        var out: [UInt8] = []
        var expected: [String: PortRecord] = [:]
        var ids: [String] = []
        whitespace(&out, &random)
        out.append(UInt8(ascii: "{"))
        for i in 0..<records {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            let id = !ids.isEmpty && Int.random(in: 0..<10, using: &random) == 0 ? ids.randomElement(using: &random)! : randomID(&random)
            ids.append(id)
            whitespace(&out, &random)
            string(id, &out, &random)
            whitespace(&out, &random)
            out.append(UInt8(ascii: ":"))
            whitespace(&out, &random)
            expected[id] = record(id, &out, &random)
            whitespace(&out, &random)
        }
        out.append(UInt8(ascii: "}"))
        whitespace(&out, &random)
        let sorted = expected.values.sorted { Array($0.id.utf8).lexicographicallyPrecedes(Array($1.id.utf8)) }
        return (out, sorted)
    }

    static func mutate<R: RandomNumberGenerator>(_ input: inout [UInt8], using random: inout R) {
        guard !input.isEmpty else {
            input.append(UInt8.random(in: 0...255, using: &random))
            return
        }
        let at = Int.random(in: 0..<input.count, using: &random)
        switch Int.random(in: 0..<5, using: &random) {
        case 0: input[at] ^= UInt8(1) << UInt8.random(in: 0...7, using: &random)
        case 1: input.removeSubrange(at...)
        case 2: input.insert(Array("{}[]\",:\\ \u{1}0e-.n\u{FF}".utf8).randomElement(using: &random)!, at: at)
        case 3: input.remove(at: at)
        default: input[at] = UInt8.random(in: 0...255, using: &random)
        }
    }

    private static func record<R: RandomNumberGenerator>(_ id: String, _ out: inout [UInt8], _ random: inout R) -> PortRecord {
        var result = PortRecord(id: id, name: randomString(&random), city: randomString(&random), country: randomString(&random))
        var members: [(String, (inout [UInt8], inout R) -> Void)] = [
            ("name", { o, r in string(result.name, &o, &r) }),
            ("city", { o, r in string(result.city, &o, &r) }),
            ("country", { o, r in string(result.country, &o, &r) }),
        ]
        if Bool.random(using: &random) {
            result.province = randomString(&random)
            members.append(("province", { [p = result.province!] o, r in string(p, &o, &r) }))
        } else if Bool.random(using: &random) {
            members.append(("province", { o, _ in o += Array("null".utf8) }))
        }
        if Bool.random(using: &random) {
            result.timezone = randomString(&random)
            members.append(("timezone", { [t = result.timezone!] o, r in string(t, &o, &r) }))
        }
        if Bool.random(using: &random) {
            result.code = String(Int.random(in: 0...99999, using: &random))
            members.append(("code", { [c = result.code!] o, r in string(c, &o, &r) }))
        } else if Bool.random(using: &random) {
            members.append(("code", { o, _ in o += Array("null".utf8) }))
        }
        if Int.random(in: 0..<4, using: &random) > 0 {
            let coordinates = [randomNumber(&random), randomNumber(&random)]
            result.coordinates = coordinates
            members.append(("coordinates", { o, r in
                o.append(UInt8(ascii: "["))
                whitespace(&o, &r)
                o += Array(coordinates[0].utf8)
                whitespace(&o, &r)
                o.append(UInt8(ascii: ","))
                whitespace(&o, &r)
                o += Array(coordinates[1].utf8)
                whitespace(&o, &r)
                o.append(UInt8(ascii: "]"))
            }))
        }
        for name in ["alias", "regions", "unlocs"] where Int.random(in: 0..<3, using: &random) > 0 {
            let values = (0..<Int.random(in: 0...3, using: &random)).map { _ in randomString(&random) }
            switch name {
            case "alias": result.alias = values
            case "regions": result.regions = values
            default: result.unlocs = values
            }
            members.append((name, { o, r in
                o.append(UInt8(ascii: "["))
                for (i, value) in values.enumerated() {
                    if i > 0 { o.append(UInt8(ascii: ",")) }
                    whitespace(&o, &r)
                    string(value, &o, &r)
                    whitespace(&o, &r)
                }
                o.append(UInt8(ascii: "]"))
            }))
        }
        for _ in 0..<Int.random(in: 0...3, using: &random) {
            let name = "x" + randomString(&random)
            members.append((name, { o, r in unknownValue(&o, &r, depth: 0) }))
        }
        members.shuffle(using: &random)
        // A field given twice: the last occurrence counts (the earlier one is a decoy written first).
        if Int.random(in: 0..<5, using: &random) == 0 {
            members.insert(("name", { o, r in string("decoy", &o, &r) }), at: 0)
        }
        out.append(UInt8(ascii: "{"))
        for (i, member) in members.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            whitespace(&out, &random)
            string(member.0, &out, &random)
            whitespace(&out, &random)
            out.append(UInt8(ascii: ":"))
            whitespace(&out, &random)
            member.1(&out, &random)
            whitespace(&out, &random)
        }
        out.append(UInt8(ascii: "}"))
        return result
    }

    private static func unknownValue<R: RandomNumberGenerator>(_ out: inout [UInt8], _ random: inout R, depth: Int) {
        switch Int.random(in: 0..<(depth > 4 ? 4 : 6), using: &random) {
        case 0: string(randomString(&random), &out, &random)
        case 1: out += Array(randomNumber(&random).utf8)
        case 2: out += Array(["true", "false", "null"].randomElement(using: &random)!.utf8)
        case 3: out += Array("[]".utf8)
        case 4:
            out.append(UInt8(ascii: "["))
            for i in 0..<Int.random(in: 1...3, using: &random) {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                whitespace(&out, &random)
                unknownValue(&out, &random, depth: depth + 1)
            }
            out.append(UInt8(ascii: "]"))
        default:
            out.append(UInt8(ascii: "{"))
            for i in 0..<Int.random(in: 0...3, using: &random) {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                string(randomString(&random), &out, &random)
                out.append(UInt8(ascii: ":"))
                whitespace(&out, &random)
                unknownValue(&out, &random, depth: depth + 1)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func randomID<R: RandomNumberGenerator>(_ random: inout R) -> String {
        if Int.random(in: 0..<8, using: &random) == 0 { return "I" + randomString(&random) }
        let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<5).map { _ in letters.randomElement(using: &random)! })
    }

    private static let alphabet: [Unicode.Scalar] = [
        "a", "Z", " ", "\"", "\\", "/", "\u{0}", "\u{1}", "\n", "\t", "\u{1F}", "\u{7F}", "é", "¸", "€", "ồ", "จ", "ั",
        "\u{2019}", "\u{FFFF}", "\u{10000}", "😀", "\u{10FFFF}",
    ]

    private static func randomString<R: RandomNumberGenerator>(_ random: inout R) -> String {
        var scalars = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 1...8, using: &random) { scalars.append(alphabet.randomElement(using: &random)!) }
        return String(scalars)
    }

    private static func randomNumber<R: RandomNumberGenerator>(_ random: inout R) -> String {
        var text = Bool.random(using: &random) ? "-" : ""
        text += Int.random(in: 0..<5, using: &random) == 0 ? "0" : String(Int.random(in: 1...999_999, using: &random))
        if Bool.random(using: &random) { text += "." + String(Int.random(in: 0...99_999_999_999, using: &random)) }
        if Int.random(in: 0..<5, using: &random) == 0 {
            text += ["e", "E"].randomElement(using: &random)! + ["", "+", "-"].randomElement(using: &random)!
                + String(Int.random(in: 0...300, using: &random))
        }
        return text
    }

    /// A JSON string literal, each character raw or escaped at random (controls, `"` and `\` always escaped).
    private static func string<R: RandomNumberGenerator>(_ value: String, _ out: inout [UInt8], _ random: inout R) {
        out.append(UInt8(ascii: "\""))
        for scalar in value.unicodeScalars {
            let v = scalar.value
            let mustEscape = v < 0x20 || v == 0x22 || v == 0x5C
            if mustEscape || Int.random(in: 0..<4, using: &random) == 0 {
                switch v {
                case 0x22: out += Array("\\\"".utf8)
                case 0x5C: out += Array("\\\\".utf8)
                case 0x0A where Bool.random(using: &random): out += Array("\\n".utf8)
                case 0x2F where Bool.random(using: &random): out += Array("\\/".utf8)
                case 0x10000...:
                    let u = v - 0x10000
                    out += Array(unicodeEscape(0xD800 + (u >> 10), &random).utf8)
                    out += Array(unicodeEscape(0xDC00 + (u & 0x3FF), &random).utf8)
                default: out += Array(unicodeEscape(v, &random).utf8)
                }
            } else {
                out += Array(String(scalar).utf8)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func unicodeEscape<R: RandomNumberGenerator>(_ value: UInt32, _ random: inout R) -> String {
        let hex = String(value, radix: 16, uppercase: Bool.random(using: &random))
        return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }

    private static func whitespace<R: RandomNumberGenerator>(_ out: inout [UInt8], _ random: inout R) {
        for _ in 0..<Int.random(in: 0...2, using: &random) {
            out.append(Array(" \n\t\r".utf8).randomElement(using: &random)!)
        }
    }
}
