#ifndef COREFORGE_DECODERS_H
#define COREFORGE_DECODERS_H
#include <node_api.h>
napi_value native_create_decoder(napi_env env, napi_callback_info info);
napi_value native_decode(napi_env env, napi_callback_info info);
#endif
