#include "support/pictures.h"

#include <vips/vips.h>

#include <memory>
#include <stdexcept>

namespace zeroshot::test {
namespace {

struct Unref {
  void operator()(void* object) const { g_object_unref(object); }
};
using Ptr = std::unique_ptr<VipsImage, Unref>;

void check(int status) {
  if (status != 0) {
    const std::string text = vips_error_buffer();
    vips_error_clear();
    throw std::runtime_error("make_picture: " + text);
  }
}

}  // namespace

std::string make_picture(const std::string& source, const PictureSpec& spec) {
  if (VIPS_INIT("zeroshot-test") != 0) check(-1);
  VipsImage* out = nullptr;
  Ptr image(vips_image_new_from_file(source.c_str(), "access", VIPS_ACCESS_RANDOM, nullptr));
  check(image ? 0 : -1);
  if (vips_image_get_bands(image.get()) > 3) {
    check(vips_extract_band(image.get(), &out, 0, "n", 3, nullptr));
    image.reset(out);
  }
  const double hscale = static_cast<double>(spec.width) / vips_image_get_width(image.get());
  const double vscale = static_cast<double>(spec.height) / vips_image_get_height(image.get());
  check(vips_resize(image.get(), &out, hscale, "vscale", vscale, "kernel", VIPS_KERNEL_CUBIC,
                    nullptr));
  image.reset(out);
  if (vips_image_get_width(image.get()) != spec.width ||
      vips_image_get_height(image.get()) != spec.height) {
    // vips_resize rounds its output size: cut or extend to exactly the asked size.
    check(vips_gravity(image.get(), &out, VIPS_COMPASS_DIRECTION_CENTRE, spec.width, spec.height,
                       "extend", VIPS_EXTEND_COPY, nullptr));
    image.reset(out);
  }
  if (spec.noise > 0) {
    VipsImage* noise = nullptr;
    check(vips_gaussnoise(&noise, spec.width, spec.height, "sigma", spec.noise, "mean", 0.0, "seed",
                          spec.seed, nullptr));
    Ptr noise_owner(noise);
    check(vips_add(image.get(), noise, &out, nullptr));
    image.reset(out);
    check(vips_cast_uchar(image.get(), &out, nullptr));  // clamps to 0..255
    image.reset(out);
  }
  if (spec.cmyk) {
    check(vips_invert(image.get(), &out, nullptr));
    image.reset(out);
    check(vips_bandjoin_const1(image.get(), &out, 0.0, nullptr));
    image.reset(out);
    check(vips_copy(image.get(), &out, "interpretation", VIPS_INTERPRETATION_CMYK, nullptr));
    image.reset(out);
  } else if (spec.alpha) {
    check(vips_bandjoin_const1(image.get(), &out, 200.0, nullptr));
    image.reset(out);
  }
  // A private copy before setting metadata: the pipeline's images are shared.
  check(vips_copy(image.get(), &out, nullptr));
  image.reset(out);
  if (spec.orientation > 0)
    vips_image_set_int(image.get(), VIPS_META_ORIENTATION, spec.orientation);
  const std::string options = spec.format == ".png"
                                  ? spec.format
                                  : spec.format + "[Q=" + std::to_string(spec.quality) + "]";
  void* buffer = nullptr;
  std::size_t length = 0;
  check(vips_image_write_to_buffer(image.get(), options.c_str(), &buffer, &length, nullptr));
  std::string bytes(static_cast<const char*>(buffer), length);
  g_free(buffer);
  return bytes;
}

}  // namespace zeroshot::test
