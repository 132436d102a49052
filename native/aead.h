#pragma once

#include "common.h"

namespace wgts {

Napi::Value AeadSeal(const Napi::CallbackInfo& info);
Napi::Value AeadOpen(const Napi::CallbackInfo& info);
Napi::Value XaeadSeal(const Napi::CallbackInfo& info);
Napi::Value XaeadOpen(const Napi::CallbackInfo& info);

}  // namespace wgts
