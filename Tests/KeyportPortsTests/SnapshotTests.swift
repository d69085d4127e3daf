import Foundation
import Testing

@testable import KeyportPorts

struct SnapshotTests {
    @Test func allFieldsAreRead() throws {
        let snapshot = try parse("""
            {"AEAJM": {"name": "Ajman", "city": "Ajman", "country": "United Arab Emirates", "alias": ["A1", "A2"],
              "regions": ["R"], "coordinates": [55.5136433, -2.5e-3], "province": "Ajman", "timezone": "Asia/Dubai",
              "unlocs": ["AEAJM", "AEXXX"], "code": "52000"}}
            """)
        #expect(allRecords(snapshot) == [PortRecord(
            id: "AEAJM", name: "Ajman", city: "Ajman", country: "United Arab Emirates", alias: ["A1", "A2"],
            regions: ["R"], coordinates: ["55.5136433", "-2.5e-3"], province: "Ajman", timezone: "Asia/Dubai",
            unlocs: ["AEAJM", "AEXXX"], code: "52000")])
    }

    @Test func optionalFieldsMayBeMissingOrNull() throws {
        let snapshot = try parse("""
            {"B": {"name": "b", "city": "c", "country": "d", "province": null, "timezone": null, "code": null,
                   "coordinates": null, "alias": null, "regions": null, "unlocs": null},
             "A": {"country": "d", "city": "c", "name": "a"}}
            """)
        #expect(allRecords(snapshot) == [
            PortRecord(id: "A", name: "a", city: "c", country: "d"),
            PortRecord(id: "B", name: "b", city: "c", country: "d"),
        ])
        var out: [UInt8] = []
        PortsJSON.appendRecord(snapshot.record(at: 0), into: &out)
        #expect(String(decoding: out, as: UTF8.self)
            == #"{"id":"A","name":"a","city":"c","country":"d","alias":[],"regions":[],"unlocs":[]}"#)
    }

    @Test func unknownFieldsOfAnyShapeAreSkipped() throws {
        let snapshot = try parse("""
            {"A": {"extra": {"deep": [1, 2.5e10, {"x": [true, false, null, "s\\u00e9"]}, []], "e": {}},
                   "name": "a", "n": -0, "t": true, "nil": null, "arr": [[[]]], "city": "c", "country": "d"}}
            """)
        #expect(allRecords(snapshot) == [PortRecord(id: "A", name: "a", city: "c", country: "d")])
    }

    @Test func escapesAreDecodedAndWrittenBack() throws {
        let snapshot = try parse(#"{"A": {"name": "q\" b\\ s\/ \b\f\n\r\t \u00e9\u20AC \ud83d\ude00 \u0001", "city": "c", "country": "d"}}"#)
        let name = try #require(snapshot.record(id: "A")?.name)
        #expect(name == "q\" b\\ s/ \u{08}\u{0C}\n\r\t é€ 😀 \u{01}")
        var out: [UInt8] = []
        PortsJSON.appendRecord(snapshot.record(at: 0), into: &out)
        let reparsed = try JSONSerialization.jsonObject(with: Data(out)) as? [String: Any]
        #expect(reparsed?["name"] as? String == name)
        #expect(String(decoding: out, as: UTF8.self).contains(#""q\" b\\ s/ \b\f\n\r\t é€ 😀 \u0001""#))
    }

    @Test func lastDuplicateWins() throws {
        let snapshot = try parse("""
            {"B": \(body("old", extra: #""unlocs": ["B", "OLDALIAS"]"#)),
             "A": \(body("a")),
             "B": \(body("new", extra: #""unlocs": ["B", "NEWALIAS"]"#)),
             "C": \(body("c")),
             "A": \(body("a2"))}
            """)
        #expect(snapshot.count == 3)
        #expect(snapshot.statistics.recordsParsed == 5)
        #expect(snapshot.statistics.duplicatesReplaced == 2)
        #expect(snapshot.record(id: "B")?.name == "new")
        #expect(snapshot.record(id: "A")?.name == "a2")
        #expect(snapshot.record(id: "NEWALIAS")?.name == "new")
        #expect(snapshot.record(id: "OLDALIAS") == nil)
        #expect(snapshot.page(after: nil, limit: 10, country: nil).ids == ["A", "B", "C"])
    }

    /// Many duplicates of a few ids: merged as they come, so memory follows the records kept.
    @Test func endlessDuplicatesKeepOnlyTheLast() throws {
        var text = "{"
        for i in 0..<150_000 {
            text += "\"ID\(i % 3)\":{\"name\":\"n\(i)\",\"city\":\"c\",\"country\":\"d\"},"
        }
        text += "\"ID1\":{\"name\":\"last\",\"city\":\"c\",\"country\":\"d\"}}"
        let snapshot = try parse(text)
        #expect(snapshot.count == 3)
        #expect(snapshot.statistics.recordsParsed == 150_001)
        #expect(snapshot.record(id: "ID0")?.name == "n149997")
        #expect(snapshot.record(id: "ID1")?.name == "last")
        #expect(snapshot.record(id: "ID2")?.name == "n149999")
        #expect(snapshot.storageBytes < 4 << 20)
    }

    @Test func unsortedInputIsServedInByteOrder() throws {
        var generator = SeededGenerator(seed: 42)
        let ids = (0..<3000).map { "P\($0)" }.shuffled(using: &generator) + ["é", "Z", "a", "AB", "A"]
        let text = "{" + ids.map { "\"\($0)\": \(body($0))" }.joined(separator: ",") + "}"
        let snapshot = try parse(text)
        let expected = Set(ids).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        #expect(snapshot.page(after: nil, limit: 10_000, country: nil).ids == expected)
        for id in ids { #expect(snapshot.record(id: id)?.name == id) }
    }

    @Test func pagingWithCursorsAndCountries() throws {
        let text = "{" + (0..<50).map { i in
            "\"K\(String(format: "%02d", i))\": \(body("n\(i)", country: i % 3 == 0 ? "Côte d'Ivoire" : "Norway"))"
        }.joined(separator: ",") + "}"
        let snapshot = try parse(text)
        let first = snapshot.page(after: nil, limit: 10, country: nil)
        #expect(first.ids == (0..<10).map { "K" + String(format: "%02d", $0) })
        #expect(first.next == "K09")
        #expect(snapshot.page(after: "K09", limit: 10, country: nil).ids.first == "K10")
        // A cursor need not exist: paging resumes after where it would sort.
        #expect(snapshot.page(after: "K095", limit: 1, country: nil).ids == ["K10"])
        #expect(snapshot.page(after: "K49", limit: 10, country: nil).ids.isEmpty)
        #expect(snapshot.page(after: "K40", limit: 9, country: nil).next == nil)
        #expect(snapshot.page(after: "K40", limit: 8, country: nil).next == "K48")
        #expect(snapshot.page(after: nil, limit: 0, country: nil).count == 0)

        let ivory = (0..<50).filter { $0 % 3 == 0 }.map { "K" + String(format: "%02d", $0) }
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = snapshot.page(after: cursor, limit: 4, country: "CÔTE D'IVOIRE")
            seen += page.ids
            cursor = page.next
        } while cursor != nil
        #expect(seen == ivory)
        #expect(snapshot.page(after: "K10", limit: 2, country: "côte d'ivoire").ids == ["K12", "K15"])
        #expect(snapshot.page(after: nil, limit: 100, country: "norway").count == 50 - ivory.count)
        #expect(snapshot.page(after: nil, limit: 100, country: "Nowhere").count == 0)
        #expect(snapshot.page(after: nil, limit: 100, country: "Norwa").count == 0)
    }

    @Test func pageJSONShape() throws {
        let snapshot = try parse("{\"A\": \(body("a")), \"B\": \(body("b"))}")
        var out: [UInt8] = []
        PortsJSON.appendPage(snapshot.page(after: nil, limit: 1, country: nil), into: &out)
        #expect(String(decoding: out, as: UTF8.self)
            == #"{"ports":[{"id":"A","name":"a","city":"C","country":"X","alias":[],"regions":[],"unlocs":[]}],"next":"A"}"#)
        out = []
        PortsJSON.appendPage(PortsSnapshot.empty.page(after: nil, limit: 10, country: nil), into: &out)
        #expect(String(decoding: out, as: UTF8.self) == #"{"ports":[],"next":null}"#)
    }

    @Test func lookupByListedUnloc() throws {
        let snapshot = try parse("""
            {"CNDAL": \(body("Dalian", extra: #""unlocs": ["CNDAL", "CNDLC"]"#)),
             "CNDLC": \(body("Dalian 2", extra: #""unlocs": ["CNDLC", "CNDAL"]"#)),
             "XA": \(body("xa", extra: #""unlocs": ["XA", "SHARED"]"#)),
             "XB": \(body("xb", extra: #""unlocs": ["SHARED", "XB", "ONLYB"]"#))}
            """)
        #expect(snapshot.record(id: "CNDAL")?.name == "Dalian")
        #expect(snapshot.record(id: "CNDLC")?.name == "Dalian 2")
        #expect(snapshot.record(id: "SHARED")?.id == "XA")
        #expect(snapshot.record(id: "ONLYB")?.id == "XB")
        #expect(snapshot.record(id: "") == nil)
        #expect(snapshot.record(id: "XC") == nil)
    }

    @Test func emptyObjectAndEmptySnapshot() throws {
        let snapshot = try parse(" \n{ } \n")
        #expect(snapshot.count == 0)
        #expect(PortsSnapshot.empty.count == 0)
        #expect(PortsSnapshot.empty.record(id: "A") == nil)
        #expect(PortsSnapshot.empty.page(after: "A", limit: 5, country: "x").next == nil)
    }

    @Test func byteOrderMarkIsAccepted() throws {
        let snapshot = try parse([0xEF, 0xBB, 0xBF] + bytes("{\"A\": \(body())}"), chunk: 1)
        #expect(snapshot.count == 1)
    }

    @Test func recordLargerThanTheChunk() throws {
        let long = String(repeating: "Ωmega ", count: 50_000)
        let text = "{\"BIG\": \(body(long, extra: "\"alias\": [\(Array(repeating: "\"al\"", count: 5000).joined(separator: ","))]")), \"Z\": \(body())}"
        let snapshot = try parse(text, chunk: 4096)
        #expect(snapshot.record(id: "BIG")?.name == long)
        #expect(snapshot.record(id: "BIG")?.alias.count == 5000)
        #expect(snapshot.count == 2)
    }

    @Test func deepNestingInAnUnknownFieldIsSkippedWithoutRecursion() throws {
        let depth = 1_000_000
        let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let objects = String(repeating: "{\"k\":", count: 100_000) + "1" + String(repeating: "}", count: 100_000)
        let snapshot = try parse("{\"A\": \(body(extra: "\"deep\": \(nested), \"obj\": \(objects)"))}")
        #expect(snapshot.record(id: "A")?.name == "N")
    }

    /// A snapshot owns its bytes: the parser's buffers are freed when it returns, and later parses (good
    /// and failing) reuse that memory, yet every record reads back exactly as it did right after the load.
    @Test func aSnapshotOwnsItsBytesAfterItsParserIsGone() throws {
        let records = (0..<200).map { i in
            "\"ID\(i)\": \(body("name \(i) \(String(repeating: "x", count: i))", extra: "\"alias\": [\"a\(i)\", \"b\(i)\"], \"coordinates\": [\(i).5, -\(i).25]"))"
        }
        let snapshot = try parse("{" + records.joined(separator: ", ") + "}", chunk: 256)
        let ids = (0..<200).map { "ID\($0)" }
        let first = ids.map { snapshot.record(id: $0) }
        #expect(first.allSatisfy { $0 != nil })
        for round in 0..<50 {
            let other = "{" + (0..<200).map { "\"ID\($0)\": \(body("other \(round) \($0)", extra: "\"alias\": [\"zz\"]"))" }.joined(separator: ", ")
            _ = try parse(other + "}", chunk: 256)
            #expect(parseError(bytes(other), chunk: 256) != nil)
        }
        #expect(ids.map { snapshot.record(id: $0) } == first)
        #expect(snapshot.record(id: "ID7")?.alias == ["a7", "b7"])
    }
}
