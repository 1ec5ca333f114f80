// zeroshot: the umbrella header. See zeroshot/model.h for a usage example and thread safety.
#pragma once

#include "zeroshot/decode_ahead.h"
#include "zeroshot/error.h"
#include "zeroshot/hub.h"
#include "zeroshot/image.h"
#include "zeroshot/index.h"
#include "zeroshot/model.h"
#include "zeroshot/templates.h"
#include "zeroshot/version.h"
