#include "image/decode.h"

#include <vips/vips.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>

#include "zeroshot/error.h"

namespace zeroshot::image {
namespace {

struct ObjectUnref {
  void operator()(void* object) const { g_object_unref(object); }
};
using ImagePtr = std::unique_ptr<VipsImage, ObjectUnref>;
using SourcePtr = std::unique_ptr<VipsSource, ObjectUnref>;

struct GFree {
  void operator()(void* memory) const { g_free(memory); }
};

// libvips keeps one process-wide error buffer: take its text and clear it so that a later failure
// (in any thread) does not report stale messages. Two decodes failing at the same instant may see
// each other's text in their messages; the error codes are unaffected.
std::string take_vips_error() {
  std::unique_ptr<char, GFree> copy(vips_error_buffer_copy());  // copies and clears
  std::string text = copy ? copy.get() : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (char& c : text) {
    if (c == '\n') c = ';';
  }
  return text.empty() ? "unknown libvips error" : text;
}

void ensure_vips_started() {
  static std::once_flag once;
  static std::string failure;
  std::call_once(once, [] {
    if (VIPS_INIT("zeroshot") != 0) {
      failure = take_vips_error();
      return;
    }
    // Every decode is a fresh pipeline: the operation cache would only hold on to decoded pixels.
    vips_cache_set_max(0);
    // Library code prints nothing: libvips' warnings (damaged data it can read past) would go to
    // stderr; the failures that matter come back as errors. As libvips itself does for the
    // VIPS_WARNING environment variable, the "VIPS" log domain's warnings are dropped.
    g_log_set_handler(
        "VIPS", G_LOG_LEVEL_WARNING, [](const gchar*, GLogLevelFlags, const gchar*, gpointer) {},
        nullptr);
  });
  if (!failure.empty()) {
    throw Error(ErrorCode::kInternal, "libvips failed to start: " + failure);
  }
}

[[noreturn]] void throw_decode(const std::string& name, const std::string& what) {
  throw Error(ErrorCode::kImageDecode, name + ": cannot decode image: " + what);
}

// Interpretations that libvips must convert to sRGB (colour spaces other than grey and RGB).
bool needs_colourspace(VipsInterpretation interpretation) {
  switch (interpretation) {
    case VIPS_INTERPRETATION_CMYK:
    case VIPS_INTERPRETATION_LAB:
    case VIPS_INTERPRETATION_LABQ:
    case VIPS_INTERPRETATION_LABS:
    case VIPS_INTERPRETATION_LCH:
    case VIPS_INTERPRETATION_CMC:
    case VIPS_INTERPRETATION_XYZ:
    case VIPS_INTERPRETATION_YXY:
    case VIPS_INTERPRETATION_scRGB:
    case VIPS_INTERPRETATION_HSV:
      return true;
    default:
      return false;
  }
}

// Builds the (lazy) libvips pipeline from the loaded image to 8-bit, 3-band RGB, following PIL's
// convert("RGB"); CMYK images come out as 8-bit, 4-band CMYK (converted by cmyk_to_rgb).
ImagePtr to_rgb8(ImagePtr image, const std::string& name) {
  VipsImage* out = nullptr;
  // Takes the result of one libvips operation that wrote `out` (read only after the call).
  auto step = [&](int status) {
    if (status != 0) throw_decode(name, take_vips_error());
    image.reset(out);
    out = nullptr;
  };
  if (image->Coding != VIPS_CODING_NONE) {  // LABQ- or RAD-coded pixels
    step(vips_image_decode(image.get(), &out));
  }
  const VipsInterpretation interpretation = vips_image_get_interpretation(image.get());
  // CMYK stays CMYK here: PIL converts it without a colour profile (cmyk_to_rgb below), and
  // libvips' colourspace would go through ICC profiles.
  const bool cmyk =
      interpretation == VIPS_INTERPRETATION_CMYK && vips_image_get_bands(image.get()) >= 4;
  if (!cmyk && needs_colourspace(interpretation)) {
    step(vips_colourspace(image.get(), &out, VIPS_INTERPRETATION_sRGB, nullptr));
  }
  const VipsBandFormat format = vips_image_get_format(image.get());
  if (format == VIPS_FORMAT_USHORT) {
    // 16-bit samples keep their high byte (v >> 8), explicitly: libvips' cast would clamp and its
    // colourspace conversion would scale by 255/65535 with rounding.
    step(vips_rshift_const1(image.get(), &out, 8.0, nullptr));
    step(vips_cast_uchar(image.get(), &out, nullptr));
  } else if (format != VIPS_FORMAT_UCHAR) {
    // Other sample types (signed, 32-bit, float) are clamped to 0..255, as PIL does for "I"/"F".
    step(vips_cast_uchar(image.get(), &out, nullptr));
  }
  const int bands = vips_image_get_bands(image.get());
  if (cmyk) {
    if (bands > 4) step(vips_extract_band(image.get(), &out, 0, "n", 4, nullptr));
  } else if (bands < 3) {
    // Grey (+ alpha): the alpha band is dropped and the grey value replicated, as PIL's "L"/"LA"
    // to "RGB".
    step(vips_extract_band(image.get(), &out, 0, nullptr));
    VipsImage* grey[3] = {image.get(), image.get(), image.get()};
    step(vips_bandjoin(grey, &out, 3, nullptr));
  } else if (bands > 3) {
    // RGBA (or extra bands): alpha is dropped, not composited, as PIL's "RGBA" to "RGB".
    step(vips_extract_band(image.get(), &out, 0, "n", 3, nullptr));
  }
  return image;
}

// PIL's convert("RGB") of CMYK (Convert.c, cmyk2rgb): no colour profile, each channel
// (255 - K) - C * (255 - K) / 255 with PIL's rounding division by 255. cmyk: [n, 4] -> rgb: [n, 3].
void cmyk_to_rgb(const std::uint8_t* cmyk, int n, std::uint8_t* rgb) {
  const auto muldiv255 = [](int a, int b) {
    const int t = a * b + 128;
    return ((t >> 8) + t) >> 8;
  };
  for (int x = 0; x < n; ++x, cmyk += 4, rgb += 3) {
    const int nk = 255 - cmyk[3];
    for (int c = 0; c < 3; ++c)
      rgb[c] = static_cast<std::uint8_t>(std::clamp(nk - muldiv255(cmyk[c], nk), 0, 255));
  }
}

}  // namespace

RgbImage apply_exif_orientation(const std::uint8_t* src, int width, int height, int orientation) {
  const bool swap = orientation >= 5 && orientation <= 8;
  RgbImage out;
  out.width = swap ? height : width;
  out.height = swap ? width : height;
  out.pixels.resize(static_cast<std::size_t>(width) * height * 3);
  if (orientation < 2 || orientation > 8) {
    std::memcpy(out.pixels.data(), src, out.pixels.size());
    return out;
  }
  std::uint8_t* dst = out.pixels.data();  // [out.height, out.width, 3]
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      int sx = x;
      int sy = y;
      switch (orientation) {
        case 2:
          sx = width - 1 - x;
          break;  // mirror left-right
        case 3:
          sx = width - 1 - x;
          sy = height - 1 - y;
          break;  // rotate 180
        case 4:
          sy = height - 1 - y;
          break;  // mirror top-bottom
        case 5:
          sx = y;
          sy = x;
          break;  // transpose
        case 6:
          sx = y;
          sy = height - 1 - x;
          break;  // rotate 90 clockwise
        case 7:
          sx = width - 1 - y;
          sy = height - 1 - x;
          break;  // transverse
        case 8:
          sx = width - 1 - y;
          sy = x;
          break;  // rotate 90 anticlockwise
        default:
          break;
      }
      const std::uint8_t* p = src + (static_cast<std::size_t>(sy) * width + sx) * 3;
      dst[0] = p[0];
      dst[1] = p[1];
      dst[2] = p[2];
      dst += 3;
    }
  }
  return out;
}

int reduction_factor(int width, int height, int orientation, const Reduction& reduction) {
  if (reduction.margin < 1 || width <= 0 || height <= 0) return 1;
  if (orientation >= 5 && orientation <= 8) std::swap(width, height);  // as displayed
  const double margin = reduction.margin;
  // True when the image reduced by f keeps every dimension the target names above the margin.
  const auto fits = [&](int f) {
    if (reduction.width > 0 && reduction.height > 0) {
      return width / f >= margin * reduction.width && height / f >= margin * reduction.height;
    }
    if (reduction.shortest_edge > 0) {
      return std::min(width, height) / f >= margin * reduction.shortest_edge;
    }
    return false;
  };
  for (int f : {8, 4, 2}) {
    if (fits(f)) return f;
  }
  return 1;
}

namespace {

// The formats whose loaders decode at a reduced scale, and how a load asks for it.
enum class Scaled { kWhole, kJpeg, kWebp };

Scaled scaled_kind(VipsImage* image) {
  const char* loader = nullptr;
  if (vips_image_get_typeof(image, VIPS_META_LOADER) == 0 ||
      vips_image_get_string(image, VIPS_META_LOADER, &loader) != 0 || loader == nullptr) {
    vips_error_clear();
    return Scaled::kWhole;
  }
  const std::string name = loader;
  if (name.rfind("jpegload", 0) == 0) return Scaled::kJpeg;
  if (name.rfind("webpload", 0) == 0) return Scaled::kWebp;
  return Scaled::kWhole;
}

// Sequential access: libvips reads only the header here and streams the pixels once, top to
// bottom, without keeping a decoded copy. Truncated data is an error, as it is for PIL. A
// reduction (factor > 1) asks the loader for its shrink-on-load.
VipsImage* open_source(VipsSource* source, Scaled scaled, int factor) {
  switch (scaled) {
    case Scaled::kJpeg:
      return vips_image_new_from_source(source, "", "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                        VIPS_FAIL_ON_TRUNCATED, "shrink", factor, nullptr);
    case Scaled::kWebp:
      return vips_image_new_from_source(source, "", "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                        VIPS_FAIL_ON_TRUNCATED, "scale", 1.0 / factor, nullptr);
    case Scaled::kWhole:
      break;
  }
  return vips_image_new_from_source(source, "", "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                    VIPS_FAIL_ON_TRUNCATED, nullptr);
}

VipsImage* open_file(const std::string& path, Scaled scaled, int factor) {
  if (!path.empty() && path.back() == ']') {
    // vips_image_new_from_file would read a trailing "[...]" as load options.
    SourcePtr source(vips_source_new_from_file(path.c_str()));
    if (!source) return nullptr;
    return open_source(source.get(), scaled, factor);  // the image holds its own reference
  }
  switch (scaled) {
    case Scaled::kJpeg:
      return vips_image_new_from_file(path.c_str(), "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                      VIPS_FAIL_ON_TRUNCATED, "shrink", factor, nullptr);
    case Scaled::kWebp:
      return vips_image_new_from_file(path.c_str(), "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                      VIPS_FAIL_ON_TRUNCATED, "scale", 1.0 / factor, nullptr);
    case Scaled::kWhole:
      break;
  }
  return vips_image_new_from_file(path.c_str(), "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                  VIPS_FAIL_ON_TRUNCATED, nullptr);
}

// libvips does not copy the bytes: they outlive the image, which dies inside the decode call.
VipsImage* open_buffer(std::span<const std::byte> bytes, Scaled scaled, int factor) {
  switch (scaled) {
    case Scaled::kJpeg:
      return vips_image_new_from_buffer(bytes.data(), bytes.size(), "", "access",
                                        VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_TRUNCATED,
                                        "shrink", factor, nullptr);
    case Scaled::kWebp:
      return vips_image_new_from_buffer(bytes.data(), bytes.size(), "", "access",
                                        VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_TRUNCATED,
                                        "scale", 1.0 / factor, nullptr);
    case Scaled::kWhole:
      break;
  }
  return vips_image_new_from_buffer(bytes.data(), bytes.size(), "", "access",
                                    VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_TRUNCATED,
                                    nullptr);
}

// Header checks (on the stored size, whatever the reduction), then the pixels: `loaded` has only
// read the header so far (libvips is lazy). `reopen(scaled, factor)` opens the same bytes again,
// reduced.
template <typename Reopen>
RgbImage finish(ImagePtr loaded, const std::string& name, std::uint64_t max_pixels,
                const Reduction& reduction, Reopen reopen) {
  const int stored_width = vips_image_get_width(loaded.get());
  const int stored_height = vips_image_get_height(loaded.get());
  if (stored_width <= 0 || stored_height <= 0) {
    throw_decode(name,
                 "image is " + std::to_string(stored_width) + "x" + std::to_string(stored_height));
  }
  const std::uint64_t stored_pixels =
      static_cast<std::uint64_t>(stored_width) * static_cast<std::uint64_t>(stored_height);
  if (max_pixels != 0 && stored_pixels > max_pixels) {
    throw Error(ErrorCode::kImageTooLarge, name + ": image is " + std::to_string(stored_width) +
                                               "x" + std::to_string(stored_height) + " = " +
                                               std::to_string(stored_pixels) +
                                               " pixels, above the limit of " +
                                               std::to_string(max_pixels) + " pixels (max_pixels)");
  }
  const int orientation = vips_image_get_orientation(loaded.get());
  int factor = 1;
  const Scaled scaled = scaled_kind(loaded.get());
  if (scaled != Scaled::kWhole) {
    factor = reduction_factor(stored_width, stored_height, orientation, reduction);
  }
  if (factor > 1) {
    loaded.reset();  // the whole-size header is not needed any more
    VipsImage* reduced = reopen(scaled, factor);
    if (reduced == nullptr) throw_decode(name, take_vips_error());
    loaded.reset(reduced);
    const int w = vips_image_get_width(loaded.get());
    const int h = vips_image_get_height(loaded.get());
    if (w <= 0 || h <= 0 || w > stored_width || h > stored_height) {
      throw_decode(name, "the reduced decode is " + std::to_string(w) + "x" + std::to_string(h) +
                             " for an image of " + std::to_string(stored_width) + "x" +
                             std::to_string(stored_height));
    }
  }
  const int width = vips_image_get_width(loaded.get());
  const int height = vips_image_get_height(loaded.get());
  ImagePtr rgb = to_rgb8(std::move(loaded), name);
  const int bands = vips_image_get_bands(rgb.get());  // 3, or 4 for CMYK
  if (vips_image_get_width(rgb.get()) != width || vips_image_get_height(rgb.get()) != height ||
      (bands != 3 && bands != 4) || vips_image_get_format(rgb.get()) != VIPS_FORMAT_UCHAR) {
    throw Error(ErrorCode::kInternal, name + ": libvips' RGB pipeline changed the image's shape");
  }
  // Pixels pulled strip by strip straight into the result (the decoder runs on this thread, in
  // file order): no whole-image buffer of libvips' own, no second copy.
  RgbImage out;
  out.width = width;
  out.height = height;
  out.reduced_by = factor;
  out.pixels.resize(static_cast<std::size_t>(width) * height * 3);  // [height, width, 3]
  std::unique_ptr<VipsRegion, ObjectUnref> region(vips_region_new(rgb.get()));
  constexpr int kStripRows = 64;
  const std::size_t row_bytes = static_cast<std::size_t>(width) * 3;
  for (int top = 0; top < height; top += kStripRows) {
    VipsRect strip{0, top, width, std::min(kStripRows, height - top)};
    if (vips_region_prepare(region.get(), &strip) != 0) throw_decode(name, take_vips_error());
    for (int y = top; y < top + strip.height; ++y) {
      const auto* row = reinterpret_cast<const std::uint8_t*>(VIPS_REGION_ADDR(region.get(), 0, y));
      std::uint8_t* dst = out.pixels.data() + static_cast<std::size_t>(y) * row_bytes;
      if (bands == 4) {
        cmyk_to_rgb(row, width, dst);
      } else {
        std::memcpy(dst, row, row_bytes);
      }
    }
  }
  if (orientation < 2 || orientation > 8) return out;
  RgbImage oriented = apply_exif_orientation(out.pixels.data(), width, height, orientation);
  oriented.reduced_by = factor;
  return oriented;
}

// A reduced decode can fail where the whole one does not (libwebp's scaled decode of a small
// lossy WebP, found by image_fuzz): then the whole decode decides, so a reduced decode fails only
// where the whole one fails, with the whole one's error.
template <typename Reopen>
RgbImage finish_reduced_or_whole(ImagePtr loaded, const std::string& name, std::uint64_t max_pixels,
                                 const Reduction& reduction, Reopen reopen) {
  if (reduction.margin < 1) return finish(std::move(loaded), name, max_pixels, reduction, reopen);
  try {
    return finish(std::move(loaded), name, max_pixels, reduction, reopen);
  } catch (const Error&) {
    VipsImage* whole = reopen(Scaled::kWhole, 1);
    if (whole == nullptr) throw_decode(name, take_vips_error());
    return finish(ImagePtr(whole), name, max_pixels, Reduction{}, reopen);
  }
}

}  // namespace

RgbImage decode_file(const std::string& path, std::uint64_t max_pixels,
                     const Reduction& reduction) {
  ensure_vips_started();
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    throw Error(ErrorCode::kImageRead, path + ": cannot read image: no such file");
  }
  if (std::filesystem::is_directory(status)) {
    throw Error(ErrorCode::kImageRead, path + ": cannot read image: is a directory");
  }
  if (!std::filesystem::is_regular_file(status)) {
    // Devices and pipes could block or never end; images are files.
    throw Error(ErrorCode::kImageRead, path + ": cannot read image: not a regular file");
  }
  if (!std::ifstream(path, std::ios::binary).is_open()) {
    throw Error(ErrorCode::kImageRead,
                path + ": cannot read image: permission denied or unreadable");
  }
  VipsImage* loaded = open_file(path, Scaled::kWhole, 1);
  if (loaded == nullptr) throw_decode(path, take_vips_error());
  return finish_reduced_or_whole(
      ImagePtr(loaded), path, max_pixels, reduction,
      [&](Scaled scaled, int factor) { return open_file(path, scaled, factor); });
}

RgbImage decode_buffer(std::span<const std::byte> bytes, std::uint64_t max_pixels,
                       const Reduction& reduction) {
  ensure_vips_started();
  const std::string name = "image buffer";
  if (bytes.empty()) throw_decode(name, "the buffer is empty");
  VipsImage* loaded = open_buffer(bytes, Scaled::kWhole, 1);
  if (loaded == nullptr) throw_decode(name, take_vips_error());
  return finish_reduced_or_whole(
      ImagePtr(loaded), name, max_pixels, reduction,
      [&](Scaled scaled, int factor) { return open_buffer(bytes, scaled, factor); });
}

}  // namespace zeroshot::image
