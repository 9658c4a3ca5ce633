/*
 * What the addon's files share: one way to report failures to JS (an Error
 * carrying the errno's code, as Node's fs errors do), and one way to queue a
 * thread-pool job behind a promise.
 */
#include <node_api.h>
#include <errno.h>
#include <stddef.h>

#include "addon.h"

const char *coreforge_errno_code(int err) {
  switch (err) {
    case ENOENT: return "ENOENT";
    case ENODATA: return "ENODATA";
    case ENOTSUP: return "ENOTSUP";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EWOULDBLOCK: return "EWOULDBLOCK";
    case E2BIG: return "E2BIG";
    case ERANGE: return "ERANGE";
    case ENOSPC: return "ENOSPC";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    default: return "EIO";
  }
}

napi_value coreforge_error(napi_env env, const char *code, int err, const char *message, const char *path) {
  napi_value c, m, e;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, c, m, &e);
  napi_set_named_property(env, e, "code", c);
  if (err) {
    napi_value n;
    napi_create_int32(env, err, &n);
    napi_set_named_property(env, e, "errno", n);
  }
  if (path) {
    napi_value p;
    napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &p);
    napi_set_named_property(env, e, "path", p);
  }
  return e;
}

napi_value coreforge_queue_job(napi_env env, const char *name, napi_async_execute_callback execute, napi_async_complete_callback complete, void *data, napi_async_work *work, napi_deferred *deferred) {
  napi_value promise, resource;
  if (napi_create_promise(env, deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource) != napi_ok ||
      napi_create_async_work(env, NULL, resource, execute, complete, data, work) != napi_ok ||
      napi_queue_async_work(env, *work) != napi_ok) {
    napi_throw_error(env, NULL, "cannot queue a thread-pool job");
    return NULL;
  }
  return promise;
}
