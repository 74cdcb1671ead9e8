// Model files: the framing every trained model shares.
//
//   magic | body (the model's own encoding) | u64 LE XXH3 of magic + body
//
// The version a decision reports is the XXH3 of the whole file, so any change to the
// model or its metadata is a new version. Files are written to a temporary name and
// renamed, so a reader never sees half a model. Reading checks the magic and checksum
// before the model's parser sees a byte (model files are input like any other).
//
// Thread-safety: free functions on values.
#pragma once

#include <string>
#include <string_view>

#include "dnsight/status.h"

namespace dnsight {

// Appends the checksum trailer to `out` (which starts with the magic).
void SealModelFile(std::string* out);
// The body between the magic and the trailer, or an error naming `what`.
Result<std::string_view> OpenModelFile(std::string_view bytes, std::string_view magic,
                                       std::string_view what);
// 16 hex digits: XXH3 of the file bytes.
std::string ModelVersion(std::string_view file_bytes);

Status WriteModelFile(const std::string& path, std::string_view bytes);
Result<std::string> ReadModelFile(const std::string& path);

}  // namespace dnsight
