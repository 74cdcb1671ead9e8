// AuditChain: an append-only, hash-chained JSON-lines audit log for remediation.
//
// Every line is one JSON object followed by '\n':
//
//   {"seq":1,"ts":"2026-11-24T03:10:40Z","ts_ns":1795...,<record fields>,
//    "prev":"<64 hex>","hash":"<64 hex>"}
//
// - `seq` counts records from 1 with no gaps; it is always the first key.
// - `ts` / `ts_ns` are the time the caller gave Append (RFC 3339 and nanoseconds).
// - the record fields follow in the order they were added to the AuditRecordBuilder.
// - `prev` is the `hash` of the previous line (64 zeros on the first line); it is always
//   the second-to-last key.
// - `hash` is the last key.
//
// Canonical bytes and the hash. A line is the text B followed by the 75-byte suffix
// `,"hash":"<64 lowercase hex>"}` and '\n'. B (the "body") runs from the opening '{' up
// to, not including, the `,"hash":` suffix, so it ends with `"prev":"<64 hex>"`. Then
//
//   hash = lowercase hex SHA-256( prev || B )
//
// where prev is the 64 ASCII hex characters of the previous hash. The verifier hashes the
// bytes exactly as they are in the file; it never re-serializes, so key order, spacing
// and escapes are part of what is protected. Lines written here are pure ASCII (non-ASCII
// bytes in values are escaped as \u00XX).
//
// What the chain proves. Editing, deleting, inserting or reordering lines, or changing a
// hash, is detected at the first line affected. A forger who rewrites every line from
// some point to the end can rebuild a consistent chain (there is no secret key); to catch
// that, copy last_hash() somewhere else now and then (a ticket, another host) and compare.
//
// Crash safety. A record is written with one write() on an O_APPEND descriptor and, by
// default, fsync'ed before Append returns. A crash can leave only a torn last line (no
// newline). Open() repairs exactly that case by truncating the torn line, and reports it;
// any other damage makes Open fail, so nothing is ever appended to a broken chain.
//
// Thread-safety: Append and the accessors are thread-safe (one mutex). Only one
// AuditChain may have a file open at a time; Open takes an exclusive flock() and fails
// with Unavailable when another holder (this or another process) has it.
// Ownership: the AuditChain owns its descriptor and releases the lock on destruction.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "dnsight/status.h"

namespace dnsight {

// The fields of one record, in order, as JSON text. Keys are written verbatim and must be
// plain identifiers ([a-z0-9_]); values are escaped. The keys seq, ts, ts_ns, prev and
// hash are reserved; using one (or a key that is not an identifier) makes the builder
// invalid, and Append then refuses it.
class AuditRecordBuilder {
 public:
  AuditRecordBuilder& Str(std::string_view key, std::string_view value);
  AuditRecordBuilder& Int(std::string_view key, int64_t value);
  AuditRecordBuilder& Uint(std::string_view key, uint64_t value);
  AuditRecordBuilder& Bool(std::string_view key, bool value);
  AuditRecordBuilder& Double(std::string_view key, double value);
  // `json` must be one complete JSON value (an object or array built by the caller);
  // Append checks the finished line and refuses it otherwise.
  AuditRecordBuilder& Raw(std::string_view key, std::string_view json);

  bool valid() const { return valid_; }
  // `"k":v,"k2":v2` (no braces); empty when no field was added.
  const std::string& fields() const { return fields_; }

 private:
  void Key(std::string_view key);

  std::string fields_;
  bool valid_ = true;
};

// Why a chain is not intact. Stable strings (see AuditDefectName).
enum class AuditDefect : uint8_t {
  kNone,
  kHashMismatch,  // the line's bytes do not hash to its `hash`
  kPrevMismatch,  // `prev` is not the previous line's `hash`
  kSeqGap,        // `seq` is not one more than the previous line's
  kBadJson,       // not a JSON object, or not in the canonical shape above
  kTornTail,      // the last line has no newline (an interrupted write)
};

// "" for kNone; otherwise hash_mismatch | prev_mismatch | seq_gap | bad_json | torn_tail.
std::string_view AuditDefectName(AuditDefect d);

struct AuditVerifyReport {
  uint64_t records = 0;  // lines that verified, from the start up to the first bad one
  bool ok = true;
  AuditDefect defect = AuditDefect::kNone;
  uint64_t line = 0;          // 1-based line number of the first bad line; 0 when ok
  uint64_t expected_seq = 0;  // the seq that line should carry (records + 1); 0 when ok
  uint64_t seq = 0;           // the seq the bad line carries; 0 when ok or unreadable
  std::string detail;         // one human sentence about the defect
  // Hash of the last verified record (64 zeros when there is none). Recording it outside
  // the file is what catches a rewrite of the tail.
  std::string last_hash;
  uint64_t intact_bytes = 0;  // length of the verified prefix of the text

  std::string_view reason() const { return AuditDefectName(defect); }
};

// Verifies a whole chain held in memory. `text` is only read during the call.
AuditVerifyReport VerifyAuditChainText(std::string_view text);
// Reads and verifies a file. A missing or unreadable file is an IoError (NotFound when
// it does not exist); an empty file is an intact chain of zero records.
Result<AuditVerifyReport> VerifyAuditChain(const std::string& path);

struct AuditChainOptions {
  // fsync after every record, so an acknowledged record survives a power loss. Costs one
  // disk flush per record (about a millisecond on SSDs, more on spinning disks); audit
  // records are written per remediation, so the default is on.
  bool fsync = true;
  // Create the file (mode 0600) when it does not exist.
  bool create = true;
};

// What Open found.
struct AuditOpenReport {
  uint64_t records = 0;  // records already in the file, verified
  bool repaired_torn_tail = false;
  uint64_t torn_bytes = 0;  // bytes truncated away when repaired
};

class AuditChain {
 public:
  // Verifies the existing file, repairs a torn last line (truncating it) and opens the
  // file for appending. Fails with InvalidArgument naming the line, seq and reason when
  // the chain is broken in any other way, NotFound when the file is missing and
  // options.create is false, Unavailable when another AuditChain holds the file, and
  // IoError otherwise.
  static Result<std::unique_ptr<AuditChain>> Open(const std::string& path,
                                                  AuditChainOptions options = {});
  ~AuditChain();
  AuditChain(const AuditChain&) = delete;
  AuditChain& operator=(const AuditChain&) = delete;

  // Appends one record stamped with ts_ns and returns its seq. InvalidArgument when the
  // builder is invalid or the line would not be valid JSON (nothing is written). IoError
  // when the write or fsync fails; the chain is then marked failed and every later
  // Append fails too, because the file may end in a torn line that only Open repairs.
  Result<uint64_t> Append(int64_t ts_ns, const AuditRecordBuilder& record);

  // False after a failed write: nothing more can be appended until the file is reopened.
  bool healthy() const;
  uint64_t records() const;  // seq of the last record (0 when empty)
  std::string last_hash() const;
  uint64_t write_errors() const;
  const AuditOpenReport& open_report() const { return open_report_; }
  const std::string& path() const { return path_; }

 private:
  AuditChain(std::string path, int fd, AuditChainOptions options, AuditOpenReport report);

  const std::string path_;
  const int fd_;
  const AuditChainOptions options_;
  const AuditOpenReport open_report_;

  mutable std::mutex mu_;
  uint64_t seq_ = 0;           // guarded by mu_
  std::string last_hash_;      // guarded by mu_
  bool failed_ = false;        // guarded by mu_
  uint64_t write_errors_ = 0;  // guarded by mu_
};

// SHA-256 chaining step, exposed for tests and tools: hex SHA-256(prev_hex || body).
std::string AuditChainHash(std::string_view prev_hex, std::string_view body);

}  // namespace dnsight
