// libFuzzer target: the HTTP service's request reading (server/inputs.cc, server/base64.cc), the
// part of `zeroshot serve` every client reaches before any model work. The first byte picks what
// the rest is:
//   0 a /v1/classify JSON body        1 a /v1/similarity JSON body     2 a /v1/embeddings body
//   3 multipart/form-data parts, "name=value" separated by '\n'
//   4 a raw image body: "QUERY\0BYTES", the query parsed as cpp-httplib parses a URL's
//   5 one base64 / data-URL image text
// Bodies go through read_body with a content reader cutting them into chunks of the second byte's
// size, under a limit from the third byte (below, at or above the body's size).
// Invariants besides "no crash": a refusal is an HttpError with a status of the contract (400
// bad_request, 413 payload_too_large, 415 unsupported_media_type, 422 limit_exceeded) and a
// message; no other exception escapes; what is accepted is within the limits; per-item image errors
// are invalid_argument naming the image; base64 that decodes re-encodes to the same bytes.
#include <httplib.h>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base64.h"
#include "http_error.h"
#include "inputs.h"

namespace {

using zeroshot::server::HttpError;
using zeroshot::server::RequestBody;

void check(bool ok) {
  if (!ok) std::abort();
}

void check_refusal(const HttpError& e) {
  const std::string& code = e.code();
  switch (e.status()) {
    case 400:
      check(code == "bad_request");
      break;
    case 413:
      check(code == "payload_too_large");
      break;
    case 415:
      check(code == "unsupported_media_type");
      break;
    case 422:
      check(code == "limit_exceeded");
      break;
    default:
      std::abort();
  }
  check(std::string_view(e.what()).size() > 0);
}

std::string encode_base64(const std::string& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t bits = 0;
  int held = 0;
  for (const char c : bytes) {
    bits = (bits << 8) | static_cast<unsigned char>(c);
    held += 8;
    while (held >= 6) {
      held -= 6;
      out.push_back(kAlphabet[(bits >> held) & 63]);
    }
  }
  if (held > 0) out.push_back(kAlphabet[(bits << (6 - held)) & 63]);
  return out;
}

void check_image(const zeroshot::server::ImageInput& image, bool from_text) {
  if (image.error) {
    check(from_text);  // multipart and raw bodies hand their bytes on as they are
    check((*image.error)["code"] == "invalid_argument");
    check((*image.error)["message"].get<std::string>().rfind("image ", 0) == 0);
  } else if (from_text) {
    check(!image.bytes.empty());
  }
}

// A content reader over `body` (plain) or `parts` (multipart), in chunks of `chunk` bytes.
httplib::ContentReader reader(const std::string& body,
                              const std::vector<std::pair<std::string, std::string>>& parts,
                              std::size_t chunk) {
  const auto feed = [chunk](const std::string& data, const httplib::ContentReceiver& receive) {
    for (std::size_t at = 0; at < data.size(); at += chunk)
      if (!receive(data.data() + at, std::min(chunk, data.size() - at))) return false;
    return true;
  };
  return httplib::ContentReader(
      [&body, feed](httplib::ContentReceiver receive) { return feed(body, receive); },
      [&parts, feed](httplib::MultipartContentHeader header, httplib::ContentReceiver receive) {
        for (const auto& [name, value] : parts) {
          httplib::MultipartFormData part;
          part.name = name;
          if (!header(part) || !feed(value, receive)) return false;
        }
        return true;
      });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const int mode = data[0] % 6;
  const std::size_t chunk = 1 + data[1];
  const std::string rest(reinterpret_cast<const char*>(data) + 3, size - 3);

  if (mode == 5) {
    std::string why;
    const auto bytes = zeroshot::server::decode_image_text(rest, why);
    if (!bytes) {
      check(!why.empty());
      return 0;
    }
    check(!bytes->empty() && bytes->size() <= rest.size());
    std::string again_why;
    const auto again = zeroshot::server::decode_base64(encode_base64(*bytes), again_why);
    check(again && *again == *bytes);
    return 0;
  }

  zeroshot::server::ServeOptions limits;
  limits.max_images = 4;
  limits.max_labels = 8;
  limits.max_inputs = 4;
  httplib::Request request;
  std::string body;
  std::vector<std::pair<std::string, std::string>> parts;
  std::size_t content = 0;  // bytes that count against the limit
  if (mode <= 2) {
    request.headers.emplace("Content-Type", "application/json");
    body = rest;
    content = body.size();
  } else if (mode == 3) {
    request.headers.emplace("Content-Type", "multipart/form-data; boundary=fuzz");
    std::size_t start = 0;
    while (start <= rest.size()) {
      std::size_t end = rest.find('\n', start);
      if (end == std::string::npos) end = rest.size();
      const std::string item = rest.substr(start, end - start);
      const std::size_t eq = item.find('=');
      parts.emplace_back(item.substr(0, eq), eq == std::string::npos ? "" : item.substr(eq + 1));
      content += parts.back().second.size();
      start = end + 1;
    }
  } else {
    request.headers.emplace("Content-Type", "image/png");
    const std::size_t nul = rest.find('\0');
    httplib::detail::parse_query_text(rest.substr(0, nul), request.params);
    body = nul == std::string::npos ? "" : rest.substr(nul + 1);
    content = body.size();
  }
  const std::size_t limit = data[2] % 3 == 0   ? content - (content > 0)
                            : data[2] % 3 == 1 ? content
                                               : content + 1;

  try {
    const RequestBody read =
        zeroshot::server::read_body(request, reader(body, parts, chunk), limit);
    check(content <= limit);
    if (mode == 3) {
      check(read.parts == parts);
    } else {
      check(read.bytes == body);
    }
    if (mode == 0 || mode == 3 || mode == 4) {
      const auto input = zeroshot::server::read_classify_input(request, read, limits);
      check(!input.images.empty() && input.images.size() <= limits.max_images);
      check(!input.labels.empty() && input.labels.size() <= limits.max_labels);
      for (const auto& image : input.images) check_image(image, mode == 0);
      if (mode == 4) check(input.images.size() == 1 && input.images[0].bytes == body);
      if (mode == 0) {
        // The options are the body's, exactly (a top_k past an int must not wrap to another one).
        const auto j = nlohmann::json::parse(body);
        check(j["labels"] == nlohmann::json(input.labels));
        check(j["images"].size() == input.images.size());
        if (j.contains("top_k")) check(j["top_k"] == input.options.top_k);
        if (j.contains("raw")) check(j["raw"] == input.raw);
      }
    } else if (mode == 1) {
      const auto input = zeroshot::server::read_similarity_input(request, read);
      check(input.images.size() == 2);
      for (const auto& image : input.images) check_image(image, true);
    } else {
      const auto input = zeroshot::server::read_embeddings_input(request, read, limits);
      check(!input.inputs.empty() && input.inputs.size() <= limits.max_inputs);
      for (const auto& item : input.inputs)
        if (!item.text) check_image(item.image, true);
    }
  } catch (const HttpError& e) {
    check_refusal(e);
    if (e.status() == 413) check(content > limit);
  }
  return 0;
}
