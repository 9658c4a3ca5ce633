#ifndef COREFORGE_HASHWRITE_H
#define COREFORGE_HASHWRITE_H
#include <node_api.h>

napi_value native_sha256_create(napi_env env, napi_callback_info info);
napi_value native_sha256_digest(napi_env env, napi_callback_info info);
napi_value native_hash_write(napi_env env, napi_callback_info info);
napi_value native_fill_from_files(napi_env env, napi_callback_info info);
napi_value native_file_sizes(napi_env env, napi_callback_info info);

#endif
