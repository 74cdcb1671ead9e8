// libFuzzer target for the hash-chained audit log (src/act/audit_chain.h).
//
// Input: the first byte picks the mode; the rest is the bytes of an audit file.
//   even  VerifyAuditChainText only (fast).
//   odd   also through a real file: VerifyAuditChain must agree with the in-memory
//         verifier, and AuditChain::Open must accept exactly the intact and torn-tail
//         cases (repairing the latter), append a record that verifies, and leave any
//         other file untouched.
// Invariants checked on every input:
//   - the verified prefix (intact_bytes) re-verifies as intact with the same record
//     count and last hash;
//   - an intact report covers the whole input; a torn tail means no final newline;
//   - the reported line is the one after the verified records.
// Invariant violations trap.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "act/audit_chain.h"

namespace {

using dnsight::AuditDefect;
using dnsight::AuditVerifyReport;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

const std::string& TempPath() {
  static const std::string* path = [] {
    std::string tmpl = "/tmp/audit_chain_fuzz-XXXXXX";
    const int fd = ::mkstemp(tmpl.data());
    Check(fd >= 0);
    ::close(fd);
    return new std::string(tmpl);
  }();
  return *path;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void ThroughFile(std::string_view bytes, const AuditVerifyReport& text) {
  const std::string& path = TempPath();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  const auto file = dnsight::VerifyAuditChain(path);
  Check(file.ok());
  Check(file->ok == text.ok && file->defect == text.defect && file->line == text.line &&
        file->records == text.records && file->last_hash == text.last_hash &&
        file->intact_bytes == text.intact_bytes);

  auto chain = dnsight::AuditChain::Open(path, {.fsync = false});
  const bool openable = text.ok || text.defect == AuditDefect::kTornTail;
  Check(chain.ok() == openable);
  if (!chain.ok()) {
    Check(ReadAll(path) == bytes);
    return;
  }
  Check((*chain)->records() == text.records);
  Check((*chain)->last_hash() == text.last_hash);
  dnsight::AuditRecordBuilder record;
  record.Str("entity", "fuzz").Uint("n", bytes.size());
  const auto seq = (*chain)->Append(1, record);
  Check(seq.ok() && *seq == text.records + 1);
  chain = dnsight::Status::Internal("closed");
  const AuditVerifyReport after = dnsight::VerifyAuditChainText(ReadAll(path));
  Check(after.ok && after.records == text.records + 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const AuditVerifyReport r = dnsight::VerifyAuditChainText(bytes);

  Check(r.intact_bytes <= bytes.size());
  Check(r.last_hash.size() == 64);
  if (r.ok) {
    Check(r.defect == AuditDefect::kNone && r.intact_bytes == bytes.size() && r.line == 0);
    Check(bytes.empty() || bytes.back() == '\n');
  } else {
    Check(r.defect != AuditDefect::kNone && !r.reason().empty() && !r.detail.empty());
    Check(r.expected_seq == r.records + 1);
    Check(r.line == r.records + 1);
    if (r.defect == AuditDefect::kTornTail)
      Check(bytes.back() != '\n' && bytes.find('\n', r.intact_bytes) == std::string_view::npos);
  }
  const AuditVerifyReport prefix = dnsight::VerifyAuditChainText(bytes.substr(0, r.intact_bytes));
  Check(prefix.ok && prefix.records == r.records && prefix.last_hash == r.last_hash);

  if (data[0] & 1) ThroughFile(bytes, r);
  return 0;
}
