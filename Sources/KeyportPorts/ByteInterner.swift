/// Stores each distinct byte string once (countries, timezones: a few hundred values shared by millions of records).
struct ByteInterner {
    private var bytes: [UInt8] = []
    private var starts: [Int] = [0]
    private var table = KeyTable(minimumCapacity: 256)

    var count: Int { starts.count - 1 }

    /// The value interned last: neighbouring records (ids sorted by country code) mostly repeat it.
    private var last = -1

    mutating func intern(_ key: UnsafePointer<UInt8>, count n: Int) -> Int {
        if last >= 0 {
            let start = starts[last]
            if starts[last + 1] - start == n, bytes.withUnsafeBufferPointer({ memcmpEqual($0.baseAddress! + start, key, n) }) {
                return last
            }
        }
        last = lookUpOrAdd(key, count: n)
        return last
    }

    private mutating func lookUpOrAdd(_ key: UnsafePointer<UInt8>, count n: Int) -> Int {
        let hash = KeyTable.hash(key, count: n)
        let found = table.find(hash: hash) { index in
            let start = starts[index]
            guard starts[index + 1] - start == n else { return false }
            return bytes.withUnsafeBufferPointer { memcmpEqual($0.baseAddress! + start, key, n) }
        }
        if let found { return found }
        bytes.append(contentsOf: UnsafeBufferPointer(start: key, count: n))
        starts.append(bytes.count)
        let index = starts.count - 2
        table.insert(hash: hash, value: index)
        return index
    }

    func strings() -> [String] {
        (0..<count).map { index in
            bytes.withUnsafeBufferPointer { buffer in
                String(decoding: UnsafeBufferPointer(rebasing: buffer[starts[index]..<starts[index + 1]]), as: UTF8.self)
            }
        }
    }
}
