#ifndef COREFORGE_ADDON_H
#define COREFORGE_ADDON_H
#include <node_api.h>

/* The code string of an errno value ("ENOENT", …; "EIO" for the ones we do not name). */
const char *coreforge_errno_code(int err);
/* An Error with .code (and .errno when err != 0, .path when path != NULL), not thrown. */
napi_value coreforge_error(napi_env env, const char *code, int err, const char *message, const char *path);

/*
 * Queue a thread-pool job: `execute` runs off the main thread, `complete` on it (it settles *deferred and deletes
 * *work). Returns the job's promise, or NULL with an error thrown (the caller then frees `data`).
 */
napi_value coreforge_queue_job(napi_env env, const char *name, napi_async_execute_callback execute, napi_async_complete_callback complete, void *data, napi_async_work *work, napi_deferred *deferred);

#endif
