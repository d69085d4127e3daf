/// The open containers of a skipped value, one bit each (1 = object): nesting costs a bit, never a stack frame.
struct BitStack {
    private var words: [UInt64] = []
    private(set) var depth = 0

    var isEmpty: Bool { depth == 0 }

    /// Whether the innermost open container is an object.
    var topIsObject: Bool {
        let i = depth - 1
        return words[i >> 6] & (1 << UInt64(i & 63)) != 0
    }

    mutating func push(isObject: Bool) {
        let word = depth >> 6
        if word == words.count { words.append(0) }
        let bit: UInt64 = 1 << UInt64(depth & 63)
        if isObject { words[word] |= bit } else { words[word] &= ~bit }
        depth += 1
    }

    mutating func pop() { depth -= 1 }

    /// Forgets a deep nest of a previous record so its memory is not kept.
    mutating func reset() {
        depth = 0
        if words.count > 1024 { words = [] }
    }
}
