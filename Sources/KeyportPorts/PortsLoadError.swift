/// Why a ports file could not be loaded: where (byte offset, line, column), which record, and what was expected.
///
/// `description` reads like `ports.json: byte 1834 (line 52, column 7): expected ':' after key "AEAUH"`.
public struct PortsLoadError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The file could not be opened or read.
        case io
        /// Not valid JSON (including a truncated document or trailing data).
        case syntax
        /// Invalid UTF-8, a lone surrogate escape or a raw control character in a string.
        case encoding
        /// Valid JSON of the wrong shape: wrong types, missing required fields.
        case schema
        /// A configured limit was exceeded (record size, total store size).
        case limit
        /// Stopped before the process passed its memory limit (by the load's observer).
        case memory
    }

    public var kind: Kind
    /// The file path (or the name given for in-memory input).
    public var source: String
    /// 0-based byte offset in the input where the problem was found; nil for errors not tied to a position.
    public var offset: Int?
    /// 1-based line and column (column counted in Unicode scalars) of `offset`, when they could be computed.
    public var line: Int?
    public var column: Int?
    /// The id of the record being read, when known.
    public var recordID: String?
    /// What went wrong, naming what was expected.
    public var message: String

    public init(
        kind: Kind, source: String, offset: Int?, line: Int? = nil, column: Int? = nil,
        recordID: String? = nil, message: String
    ) {
        self.kind = kind
        self.source = source
        self.offset = offset
        self.line = line
        self.column = column
        self.recordID = recordID
        self.message = message
    }

    public var description: String {
        var text = source + ": "
        if let offset {
            text += "byte \(offset)"
            if let line, let column { text += " (line \(line), column \(column))" }
            text += ": "
        }
        return text + message
    }
}
