// Bearer API keys: where the key comes from and how a request's key is compared.
#pragma once

#include <string>
#include <string_view>

namespace zeroshot::server {

// The key from `file` (surrounding whitespace trimmed), else from ZEROSHOT_API_KEY, else "" (no
// auth). Throws zeroshot::Error (kIo) when the file cannot be read, kInvalidArgument when it
// holds no key.
std::string load_api_key(const std::string& file);

// Whether an Authorization header value is "Bearer <key>". Compares in time that depends on the
// lengths only, never on where the first differing byte is.
bool authorized(std::string_view authorization_header, std::string_view key);

}  // namespace zeroshot::server
