/// A reusable, growable byte buffer for the record being parsed (freed explicitly by its owner).
struct ByteScratch {
    private(set) var base: UnsafeMutablePointer<UInt8>
    var count = 0
    private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = Swift.max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    func deallocate() { base.deallocate() }

    @inline(__always)
    mutating func append(_ bytes: UnsafePointer<UInt8>, count n: Int) {
        if count + n > capacity { grow(to: count + n) }
        if n <= 16 {
            // Most values are a few bytes: a call to memmove costs more than copying them.
            let target = base + count
            for i in 0..<n { target[i] = bytes[i] }
        } else {
            (base + count).update(from: bytes, count: n)
        }
        count += n
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        if count == capacity { grow(to: count + 1) }
        base[count] = byte
        count += 1
    }

    /// Returns to a small buffer after an unusually large record, so one big record does not pin memory.
    mutating func reset(shrinkingAbove limit: Int, to small: Int) {
        count = 0
        if capacity > limit {
            base.deallocate()
            capacity = small
            base = .allocate(capacity: small)
        }
    }

    @inline(never)
    private mutating func grow(to minimum: Int) {
        let newCapacity = Swift.max(minimum, capacity * 2)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    var bufferPointer: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }
}

/// A range of bytes in a `ByteScratch`.
struct ByteSpan {
    var start: Int
    var count: Int
}
