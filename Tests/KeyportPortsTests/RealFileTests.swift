import Foundation
import Testing

@testable import KeyportPorts

/// The real 1632-record file, served exactly: compared against an independent parse with JSONSerialization.
@Suite(.enabled(if: RealPortsFile.shouldRun, RealPortsFile.skipNote))
struct RealFileTests {
    let snapshot: PortsSnapshot
    let reference: [String: [String: Any]]
    let text: String

    init() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: RealPortsFile.path))
        text = String(decoding: data, as: UTF8.self)
        reference = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
        snapshot = try PortsFileLoader.load(path: RealPortsFile.path)
    }

    @Test func everyRecordRoundTrips() throws {
        #expect(reference.count == 1632)
        #expect(snapshot.count == 1632)
        #expect(snapshot.statistics == PortsLoadStatistics(records: 1632, recordsParsed: 1632, duplicatesReplaced: 0, bytesRead: 501_544))
        for (id, fields) in reference {
            let record = try #require(snapshot.record(id: id), "missing \(id)")
            #expect(record.id == id)
            expectSameBytes(record.name, fields["name"], id, "name")
            expectSameBytes(record.city, fields["city"], id, "city")
            expectSameBytes(record.country, fields["country"], id, "country")
            expectSameBytes(record.province, fields["province"], id, "province")
            expectSameBytes(record.timezone, fields["timezone"], id, "timezone")
            expectSameBytes(record.code, fields["code"], id, "code")
            #expect(record.alias == (fields["alias"] as? [String] ?? []), "\(id) alias")
            #expect(record.regions == (fields["regions"] as? [String] ?? []), "\(id) regions")
            #expect(record.unlocs == (fields["unlocs"] as? [String] ?? []), "\(id) unlocs")
            if let numbers = fields["coordinates"] as? [NSNumber] {
                let coordinates = try #require(record.coordinates, "\(id) coordinates")
                // Foundation's own parse is off by an ulp on some 16-digit numbers: compare with a tolerance
                // here; the exact text is checked against the file itself below.
                #expect(coordinates.count == 2 && numbers.count == 2, "\(id) coordinates")
                for (text, number) in zip(coordinates, numbers) {
                    #expect(abs(Double(text)! - number.doubleValue) < 1e-9, "\(id) coordinates")
                }
            } else {
                #expect(record.coordinates == nil, "\(id) has no coordinates in the file")
            }
        }
    }

    /// Coordinates are kept as the file's own text, checked against the text itself (file order = id order here).
    @Test func coordinatesKeepTheirTextExactly() throws {
        let pattern = try NSRegularExpression(pattern: #""coordinates": \[\s*([^,\s]+),\s*([^\]\s]+)\s*\]"#)
        let matches = pattern.matches(in: text, range: NSRange(text.startIndex..., in: text))
        let texts = matches.map { match in
            [1, 2].map { String(text[Range(match.range(at: $0), in: text)!]) }
        }
        let stored = allRecords(snapshot).compactMap(\.coordinates)
        #expect(texts.count == 1608)
        #expect(stored == texts)
        #expect(snapshot.record(id: "CNSDG")?.coordinates == ["111", "21.52"])
        #expect(stored.contains(["121.614682", "38.91400300000001"]))
        #expect(stored.joined().contains("-68.26238219999999"))
    }

    @Test func oddities() throws {
        let thmat = try #require(snapshot.record(id: "THMAT"))
        #expect(Array(thmat.province!.utf8) == Array("จังหวัด กรุงเทพมหานคร".utf8))
        let aeauh = try #require(snapshot.record(id: "AEAUH"))
        #expect(Array(aeauh.province!.utf8) == [0x41, 0x62, 0x75, 0x20, 0x5A, 0xC2, 0xB8] + Array("aby [Abu Dhabi]".utf8))
        // Both ids of a pair are records of their own; each answers with itself.
        let dal = try #require(snapshot.record(id: "CNDAL"))
        let dlc = try #require(snapshot.record(id: "CNDLC"))
        #expect(dal.id == "CNDAL" && dlc.id == "CNDLC")
        #expect(Set(dal.unlocs) == ["CNDAL", "CNDLC"])
        #expect(dal.name == dlc.name)
        #expect(snapshot.record(id: "CNFOC")?.alias == ["Fuchou", "Foochow", "Foochou"])
        #expect(snapshot.record(id: "GBBAD")?.timezone == "Asia/Tehran")
        #expect(snapshot.record(id: "ZZZZZ") == nil)
        #expect(snapshot.id(at: 0) == "AEAJM")
        #expect(snapshot.id(at: snapshot.count - 1) == "ZWUTA")
    }

    @Test func countriesMatchAnIndependentCount() throws {
        #expect(Set(snapshot.countries).count == 185)
        for country in ["United Arab Emirates", "China", "Netherlands", "Netherlands Antilles", "Côte d'Ivoire"] {
            let expected = reference.filter { ($0.value["country"] as? String) == country }.keys.sorted()
            let page = snapshot.page(after: nil, limit: 5000, country: country.uppercased())
            #expect(page.ids == expected, "\(country)")
            #expect(page.next == nil)
        }
    }

    @Test func pagingCoversEveryIdOnceInOrder() {
        let expected = reference.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        for limit in [1, 7, 100, 1000, 1631, 1632, 5000] {
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let page = snapshot.page(after: cursor, limit: limit, country: nil)
                #expect(page.count <= limit)
                seen += page.ids
                cursor = page.next
                pages += 1
            } while cursor != nil && pages < 3000
            #expect(seen == expected, "limit \(limit)")
            #expect(pages == (expected.count + limit - 1) / limit, "limit \(limit)")
        }
    }

    /// The page JSON re-parses to the same data, and numbers come out as the file wrote them.
    @Test func jsonOutputReparses() throws {
        var out: [UInt8] = []
        PortsJSON.appendPage(snapshot.page(after: nil, limit: 5000, country: nil), into: &out)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out)) as? [String: Any])
        let ports = try #require(object["ports"] as? [[String: Any]])
        #expect(object["next"] is NSNull)
        #expect(ports.count == 1632)
        for port in ports {
            let id = try #require(port["id"] as? String)
            let original = try #require(reference[id])
            for key in ["name", "city", "country", "province", "timezone", "code"] {
                #expect(port[key] as? String == original[key] as? String, "\(id) \(key)")
            }
            #expect(port["unlocs"] as? [String] == original["unlocs"] as? [String])
            let written = (port["coordinates"] as? [NSNumber])?.map(\.doubleValue)
            let read = (original["coordinates"] as? [NSNumber])?.map(\.doubleValue)
            #expect(written?.count == read?.count)
            #expect(zip(written ?? [], read ?? []).allSatisfy { abs($0 - $1) < 1e-9 }, "\(id) coordinates")
        }
        let json = String(decoding: out, as: UTF8.self)
        #expect(json.contains(#""coordinates":[111,21.52]"#))
        #expect(json.contains("38.91400300000001"))
        // A record's own JSON is the same bytes, whether written from a PortRecord or from the store.
        var single: [UInt8] = []
        PortsJSON.appendRecord(try #require(snapshot.record(id: "AEAJM")), into: &single)
        #expect(String(decoding: single, as: UTF8.self)
            == #"{"id":"AEAJM","name":"Ajman","city":"Ajman","country":"United Arab Emirates","alias":[],"regions":[],"coordinates":[55.5136433,25.4052165],"province":"Ajman","timezone":"Asia/Dubai","unlocs":["AEAJM"],"code":"52000"}"#)
        #expect(json.contains(String(decoding: single, as: UTF8.self)))
    }

    /// `/ports/{id}` writes a record straight from the store: the same bytes as from its PortRecord, for
    /// every id and every unloc a record lists; an unknown id appends nothing.
    @Test func storedRecordJSONMatchesTheRecordsOwn() throws {
        var checked = 0
        for index in 0..<snapshot.count {
            let record = snapshot.record(at: index)
            for id in [record.id] + record.unlocs {
                let owner = try #require(snapshot.record(id: id))
                var expected: [UInt8] = []
                PortsJSON.appendRecord(owner, into: &expected)
                var written: [UInt8] = [0x2A]
                #expect(snapshot.appendJSON(ofID: id, into: &written), "\(id)")
                #expect(written == [0x2A] + expected, "\(id)")
                checked += 1
            }
        }
        #expect(checked > snapshot.count)
        var untouched: [UInt8] = [0x2A]
        for missing in ["", "ZZZZZ", "AEAJ", "AEAJMX", "aeajm"] {
            #expect(!snapshot.appendJSON(ofID: missing, into: &untouched), "\(missing)")
        }
        #expect(untouched == [0x2A])
    }

    /// The same file in tiny chunks (every token split across reads) gives the same records.
    @Test func tinyChunksGiveTheSameRecords() throws {
        let small = try PortsFileLoader.load(path: RealPortsFile.path, options: PortsParseOptions(chunkSize: 7))
        #expect(allRecords(small) == allRecords(snapshot))
    }
}

private func expectSameBytes(_ value: String?, _ expected: Any?, _ id: String, _ field: String,
                             sourceLocation: SourceLocation = #_sourceLocation) {
    let expectedString = expected as? String
    #expect(value.map { Array($0.utf8) } == expectedString.map { Array($0.utf8) }, "\(id) \(field)", sourceLocation: sourceLocation)
}
