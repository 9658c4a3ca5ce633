#ifndef COREFORGE_SPAWN_H
#define COREFORGE_SPAWN_H
#include <node_api.h>

napi_value native_spawn_process(napi_env env, napi_callback_info info);
napi_value native_wait_process(napi_env env, napi_callback_info info);
napi_value native_pipe(napi_env env, napi_callback_info info);

#endif
