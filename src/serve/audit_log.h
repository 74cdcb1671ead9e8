// AuditLog: who read or changed what through the serving API, one JSON line per view per
// request, appended to a file:
//
//   {"ts":"2026-11-23T10:00:00.123Z","who":"fraud-model","role":"reader","action":"get",
//    "view":"client","entities":1,"status":200,"remote":"10.0.0.5"}
//
// The file is opened with O_APPEND and each record is written with a single write(), so
// lines from concurrent writers (threads, or another process appending to the same file)
// never interleave, and a crash leaves at most one torn last line. Records are not synced
// to disk one by one (a power loss can drop the last few); the OS flushes them as usual.
//
// Thread-safety: Append is thread-safe (one mutex, held for the write only).
// Ownership: the AuditLog owns its file descriptor and closes it on destruction.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "dnsight/status.h"

namespace dnsight {

struct AuditRecord {
  int64_t ts_ns = 0;
  std::string_view who;     // principal name; "" when the caller was not authenticated
  std::string_view role;    // "reader" | "trainer" | "admin" | ""
  std::string_view action;  // get | batch_get | historical | list | describe | register | diff
  std::string_view view;    // "" when the request names no view
  uint64_t entities = 0;    // entities (or spine rows) the request asked for
  int status = 0;           // HTTP status code of the response
  std::string_view remote;  // peer address
};

// Appends the JSON line for `r` (with the trailing newline) to *out.
void AppendAuditJson(const AuditRecord& r, std::string* out);

class AuditLog {
 public:
  // Opens `path` for appending, creating it (mode 0600) if needed.
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& path);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Writes one record. IoError when the line could not be written whole.
  Status Append(const AuditRecord& r);

  const std::string& path() const { return path_; }
  uint64_t records_written() const { return records_written_.load(std::memory_order_relaxed); }
  uint64_t write_errors() const { return write_errors_.load(std::memory_order_relaxed); }

 private:
  AuditLog(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  const std::string path_;
  const int fd_;
  std::mutex mu_;  // serializes write() so a short write can be completed before the next
  std::atomic<uint64_t> records_written_{0};
  std::atomic<uint64_t> write_errors_{0};
};

}  // namespace dnsight
