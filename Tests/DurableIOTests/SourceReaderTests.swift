import DurableRunStore
import Foundation
import Testing

/// `SourceReader` on malformed CSV: refused with the line or the column named, never read into wrong items.
@Suite("SourceReader refuses malformed CSV", .inATestSlot)
struct SourceReaderTests {
    let dir = TemporaryDirectory()

    /// The items read from a CSV file with `text`, or the error's description.
    func read(_ text: String, id: [String] = ["id"]) -> Result<[String: String], any Error> {
        let path = dir.file("source.csv")
        writeRaw(text, to: path)
        return Result {
            var items: [String: String] = [:]
            try SourceReader.read(try SourceFile(path: path.string, idColumns: id)) { key, json in items[key] = json }
            return items
        }
    }

    func message(_ result: Result<[String: String], any Error>) -> String? {
        if case .failure(let error) = result { return "\(error)" }
        return nil
    }

    @Test("An unterminated quote is refused naming the line it opens on, instead of swallowing the rows after it")
    func unterminatedQuote() {
        let result = read("id,text\n1,fine\n2,\"opens here\n3,swallowed\n4,swallowed too\n")
        let text = message(result)
        #expect(text?.contains("line 3") == true, "\(result)")
        #expect(text?.contains("never closed") == true, "\(result)")
        #expect(text?.contains("swallowed") == false, "row contents stay out of the message: \(result)")
    }

    @Test("A quote inside a quoted field that is neither doubled nor closing is refused naming its line")
    func strayQuoteInQuotedField() {
        let result = read("id,text\n1,\"a \"quoted\" word\"\n2,b\n")
        #expect(message(result)?.contains("line 2") == true, "\(result)")
    }

    @Test("Well-formed quoting still reads: doubled quotes, embedded commas and newlines, CRLF, quotes inside unquoted fields")
    func wellFormedQuotingReads() throws {
        let result = read("id,text\r\n1,\"a \"\"b\"\", c\nd\"\r\n2,5\" tall\r\n\"3\",\"\"\r\n")
        let items = try result.get()
        #expect(items.keys.sorted() == ["1", "2", "3"])
        #expect(items["1"] == #"{"id":"1","text":"a \"b\", c\nd"}"#)
        #expect(items["2"] == #"{"id":"2","text":"5\" tall"}"#)
    }

    @Test("A duplicate header column is refused naming the column and its positions")
    func duplicateHeader() {
        let result = read("id,id,text\n1,2,x\n")
        let text = message(result)
        #expect(text?.contains("'id'") == true, "\(result)")
        #expect(text?.contains("columns 1 and 2") == true, "\(result)")
        let other = message(read("id,text,note,text\n1,a,b,c\n"))
        #expect(other?.contains("'text'") == true && other?.contains("columns 2 and 4") == true, "\(other ?? "read")")
    }

    /// Everything a cursor reads from `text` with pieces of `pieceSize` bytes, or the error's description.
    func pieces(_ text: String, name: String, pieceSize: Int, id: [String] = ["id"]) -> String {
        let path = dir.file(name)
        writeRaw(text, to: path)
        do {
            var cursor = try SourceCursor(try SourceFile(path: path.string, idColumns: id), pieceSize: pieceSize)
            var out = ""
            while let item = try cursor.next() { out += "\(item.key)=\(item.json)\n" }
            return out
        } catch {
            return "error: \(error)"
        }
    }

    @Test("Read a piece at a time, every cut — inside quotes, between \"\" and CR LF, inside a UTF-8 character — reads the same items and the same errors as one piece")
    func everyPieceSizeReadsTheSame() {
        let csv = "id,text,n\r\n1,\"a \"\"b\"\", c\nd\",z\r\n2,5\" tall,é\r\n\"3\",\"\",x\n\n4,\"ü\nß\",\"\"\"\"\n5,last,no newline"
        let jsonl = "{\"id\":1,\"t\":\"é\\n\"}\n\n  \n{\"id\":\"2\",\"t\":[1,2]}\r\n{\"id\":3}"
        let badCSV = ["id,t\n1,a\n2,\"open\n3,b\n", "id,t\n1,a\n2,\"x\"y\"\n", "id,t\n1,a\n2,b,c\n", "id,id\n1,2\n", "", "id,t\n1,a\n,b\n"]
        let badJSONL = ["{\"id\":1}\n[1]\n", "{\"id\":1}\n{\"x\":2}\n"]
        let whole = pieces(csv, name: "s.csv", pieceSize: 1 << 20)
        #expect(whole.hasPrefix("1=") && whole.contains("5=") && !whole.contains("error"), "\(whole)")
        let wholeJSONL = pieces(jsonl, name: "s.jsonl", pieceSize: 1 << 20)
        #expect(wholeJSONL.contains("3=") && !wholeJSONL.contains("error"), "\(wholeJSONL)")
        let badWhole = badCSV.map { pieces($0, name: "b.csv", pieceSize: 1 << 20) }
        let badJSONLWhole = badJSONL.map { pieces($0, name: "b.jsonl", pieceSize: 1 << 20) }
        #expect(badWhole.allSatisfy { $0.hasPrefix("error:") }, "\(badWhole)")
        for size in 1...12 {
            #expect(pieces(csv, name: "s.csv", pieceSize: size) == whole, "piece size \(size)")
            #expect(pieces(jsonl, name: "s.jsonl", pieceSize: size) == wholeJSONL, "piece size \(size)")
            for (text, expected) in zip(badCSV, badWhole) {
                #expect(pieces(text, name: "b.csv", pieceSize: size) == expected, "piece size \(size): \(text.debugDescription)")
            }
            for (text, expected) in zip(badJSONL, badJSONLWhole) {
                #expect(pieces(text, name: "b.jsonl", pieceSize: size) == expected, "piece size \(size): \(text.debugDescription)")
            }
        }
    }

    @Test("A row longer than the limit (64 MiB; a quote that never closes, in a large file) is refused naming the row, not buffered whole")
    func aRecordLongerThanTheLimitIsRefused() throws {
        let path = dir.file("long.csv")
        writeRaw("id,t\n1,a\n2,\"opens and never closes\n", to: path)
        let handle = try #require(FileHandle(forWritingAtPath: path.string))
        handle.seekToEndOfFile()
        let line = Data(repeating: UInt8(ascii: "x"), count: 1 << 20 - 1) + Data("\n".utf8)
        for _ in 0..<4 { handle.write(line) }
        try handle.close()
        var cursor = try SourceCursor(try SourceFile(path: path.string, idColumns: ["id"]), maximumRecordBytes: 2 << 20)
        var read = 0
        let error = #expect(throws: DurableRunStoreError.self) { while try cursor.next() != nil { read += 1 } }
        #expect(read <= 1)
        #expect(error?.message.contains("row 3 is longer than 2 MiB") == true, "\(String(describing: error))")
    }
}
