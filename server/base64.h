// Base64 of JSON image inputs: plain (RFC 4648, standard or URL-safe alphabet, padding optional,
// spaces and line breaks ignored) or a data URL ("data:image/png;base64,...").
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace zeroshot::server {

// The decoded bytes, or nullopt with `why` set when the text is not base64 (the message names the
// first bad character's offset).
std::optional<std::string> decode_base64(std::string_view text, std::string& why);

// decode_base64 of a data URL's payload, or of the whole text when it is not a data URL.
std::optional<std::string> decode_image_text(std::string_view text, std::string& why);

}  // namespace zeroshot::server
